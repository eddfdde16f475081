// Types of bundle-options.mjs, for the tests that bundle with it.
import type {BuildOptions, Metafile} from 'esbuild';

export declare const bundleOptions: BuildOptions;
export declare const entryOptions: BuildOptions;
export declare const commonJsOptions: BuildOptions;
export declare function commandBundleOptions(names: readonly string[]): BuildOptions & {metafile: true};
export declare function commandBundleFault(output: Pick<Metafile['outputs'][string], 'inputs' | 'imports'>): string | undefined;
