// Tests that run the CLI run the built bundle, as an operator would: build it once first.
import {execFileSync} from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], {stdio: 'inherit'});
}
