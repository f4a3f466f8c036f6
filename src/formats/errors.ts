import { UserError } from '../errors.js';

/** A file that is not what it claims to be: names the file and what is wrong with it. */
export class FormatError extends UserError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'FormatError';
    this.path = path;
    this.reason = reason;
  }
}
