// Prints the scrypt hash of a password for the users file. The password is read from stdin, so it
// stays out of the shell history and the process list:
//   printf '%s' "$PASSWORD" | npm run -w @ccfed/api hash-password
import { text } from 'node:stream/consumers';
import { hashPassword } from './password.js';

const password = (await text(process.stdin)).replace(/\r?\n$/, '');
if (password.length === 0) {
  console.error('hash-password: no password on stdin');
  process.exit(2);
}
console.log(await hashPassword(password));
