/** A progress line on stderr when it is a terminal; silent when piped. */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  const start = performance.now();
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = Math.round((done / Math.max(total, 1)) * width);
      const secs = ((now - start) / 1000).toFixed(1);
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${secs}s`,
      );
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}

/** One progress line per stage, each ended when the next stage starts. */
export function stagedProgress(): { update(stage: string, done: number, total: number): void; done(): void } {
  let bar: Progress | undefined;
  let current = '';
  return {
    update(stage, done, total) {
      if (bar === undefined || stage !== current) {
        bar?.done();
        [bar, current] = [progress(stage), stage];
      }
      bar.update(done, total);
    },
    done() {
      bar?.done();
      bar = undefined;
    },
  };
}
