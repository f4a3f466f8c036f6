export * from './table.js';
export * from './svg-chart.js';
export * from './percent.js';
