// Types of bundle-options.mjs, for the tests that bundle with it.
import type {BuildOptions} from 'esbuild';

export declare const bundleOptions: BuildOptions;
