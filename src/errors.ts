/**
 * A problem with what the user gave effml (a flag, an option, a file, a prompt too long for the
 * context): the CLI prints its message as one line. Anything else that is thrown is a bug in
 * effml (a broken invariant) and is printed with its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
