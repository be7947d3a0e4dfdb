/** Asks a question on the terminal; a hidden answer is read in raw mode and never echoed. */
import { createInterface } from 'node:readline/promises';
import { UsageError } from './output.ts';

export async function ask(question: string, options: { hidden: boolean }): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) {
    throw new UsageError(`${question.replace(/:\s*$/, '')} is needed and there is no terminal to ask on.`);
  }
  if (!options.hidden) {
    const rl = createInterface({ input: stdin, output: stderr });
    try {
      return (await rl.question(question)).trim();
    } finally {
      rl.close();
    }
  }
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let answer = '';
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n' || char === '\u0004') {
            stdin.off('data', onData);
            stderr.write('\n');
            resolve(answer);
            return;
          }
          if (char === '\u0003') {
            stdin.off('data', onData);
            stderr.write('\n');
            reject(new UsageError('Cancelled.'));
            return;
          }
          if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
          else answer += char;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
