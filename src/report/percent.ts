/** 0.1234 -> "12.34%" */
export const percent = (x: number, digits = 2): string => `${(100 * x).toFixed(digits)}%`;
