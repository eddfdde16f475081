// What the interactive wizard does, as actions the components dispatch. Every action runs a flow
// through the same runner and flow runner as the CLI; its progress lands in the store, which is
// all the components read. One action runs at a time; `cancel()` aborts it (its undo and the
// cleanup registry detach devices and remove half-made files).
import {createFlow, reclaimCreateLeftovers, type CreateJob} from '../../flows/create.js';
import {reclaimFuseLeftovers} from '../attach/index.js';
import {relabelFlow} from '../../flows/relabel.js';
import {resizeFlow} from '../../flows/resize.js';
import {refuseRepair, repairFlow, type RepairJob} from '../../flows/repair.js';
import {Cancelled, StepError, UsageError} from '../errors.js';
import {waitNotice} from '../cleanup.js';
import {refuseUnreachableGrow} from '../volume/grow-plan.js';
import {runFlow, type StepEnv} from '../flow-runner.js';
import {Runner} from '../runner/runner.js';
import {Transcript} from '../runner/transcript.js';
import type {Settings} from '../settings.js';
import {takeInventory, type Inventory} from '../inventory/inventory.js';
import {addMessage, createAppStore, setSteps, type AppStore} from '../store.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {CACHE_LABEL, checkLabel} from '../volume/label.js';
import {checkVolumeSize, parseSize} from '../volume/size.js';
import {checkSpace} from '../volume/space.js';
import {checkTarget} from '../volume/target.js';
import type Conf from 'conf';
import {runChecks, type Check} from '../host/checks.js';
import type {TrustedRequest} from '../trusted/plan.js';
import type {TeardownPlan} from '../trusted/teardown.js';
import {resolvePath} from './validators.js';
import {hostRoots} from '../host/roots.js';
import {resolveLauncher, vmStatus, type VmStatus} from '../vm/launcher.js';
import {adapterFor, volumesOf, type Invocation} from '../vm/adapters/index.js';
import {launchEra} from '../vm/launch-era.js';
import {findEra, volumeSpec, type Era} from '../era/eras.js';
import {defaultExpectation, type Expectation} from '../volume/judge.js';
import {roleOf} from '../volume/set.js';
import {checkLaunch, launchForm, type LaunchCheck, type LaunchForm} from './launch.js';
import {reviewLaunch, type LaunchReview} from './launch-review.js';
import type {LogFeed} from '../vm/log-feed.js';
import {launchFlow, stopFlow, type LaunchJob} from '../../flows/vm.js';
import {detachFlow, loadFlow} from '../../flows/nbd.js';
import type {LaunchFields} from '../vm/fields.js';
import {listDevices, recoverStale, type NbdDevice, type RecoverItem} from '../nbd/index.js';
import {refusals, type Plan} from '../prepare/plan.js';
import {layoutSibling} from '../inventory/find.js';
import {makeFolder, recordSet} from '../inventory/layout.js';
import {refuseOtherOwners} from '../inventory/manifest.js';
import {checkHostnameForNames} from '../prepare/hostname.js';
import {checkBeforePrepare, checkSetDir, creating, runPrepare, setEvidence} from '../prepare/run.js';
import {configValues, offeredEra, planFor, type EraChoice, type SetInput} from './set.js';

const sysRoot = () => process.env.TDX_WIZARD_SYS_ROOT || '/sys';

export type ActionOutcome = {ok: true; detail?: string} | {ok: false; message: string; fix?: string; cancelled?: boolean};

export class WizardController {
  readonly store: AppStore;
  readonly runner: Runner;
  private loaded?: {store: Conf<Settings>; remember: typeof import('../settings.js').remember};
  readonly transcript?: Transcript;
  private current?: AbortController;
  /** The seed file given for the config volume in this run (a path; the settings never hold it). */
  private seedFile?: string;

  /** A serial-log feed started before the wizard (by `logs --follow`), for the log pane to take. */
  private logFeed?: LogFeed;

  constructor(options: {store?: AppStore; runner?: Runner; transcript?: boolean; logFeed?: LogFeed} = {}) {
    this.logFeed = options.logFeed;
    this.store = options.store ?? createAppStore();
    this.runner = options.runner ?? new Runner({store: this.store});
    if (options.transcript !== false) {
      try {
        this.transcript = Transcript.open('wizard');
        this.transcript.attach(this.runner);
      } catch (error) {
        addMessage(this.store, {level: 'warn', text: `no transcript: ${(error as Error).message}`});
      }
    }
  }

  /**
   * What the operator typed into a form, by form, kept in memory for this run only (never in the
   * settings): a failed or cancelled launch, an Esc back or an error never wipes a form.
   */
  private readonly drafts = new Map<string, Record<string, string>>();

  /** Something was typed into a form and would be lost on quitting. */
  hasDrafts(): boolean {
    return [...this.drafts.values()].some((draft) => Object.values(draft).some((v) => v !== ''));
  }

  /** The form's values were used (a launch that started): quitting loses nothing now. */
  clearDraft(form: string): void {
    this.drafts.delete(form);
  }

  draft(form: string): Record<string, string> {
    let draft = this.drafts.get(form);
    if (!draft) this.drafts.set(form, (draft = {}));
    return draft;
  }

  /** What a screen keeps while the operator stays on it (the help overlay unmounts the screen). */
  private held?: {key: string; value: {close(): void}};

  /**
   * The object `key` names, made by `make` the first time: a screen's state that must outlive its
   * unmounting under the help overlay (the log pane's feed, hints and position). One is held at a
   * time; release() (leaving the screen, quitting) closes it.
   */
  hold<T extends {close(): void}>(key: string, make: () => T): T {
    if (this.held?.key === key) return this.held.value as T;
    this.release();
    const value = make();
    this.held = {key, value};
    return value;
  }

  /** Closes what a screen held: the operator left it. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    held?.value.close();
  }

  /** The feed started early for this log, once; the log pane makes its own otherwise. */
  takeLogFeed(path: string): LogFeed | undefined {
    const feed = this.logFeed?.path === path ? this.logFeed : undefined;
    if (feed) this.logFeed = undefined;
    return feed;
  }

  /**
   * Loads the remembered settings (conf, and ajv with it) the first time: the wizard does before
   * its first screen and before leaving the log pane; the log pane alone never needs them, and
   * starts lighter and faster without.
   */
  async loadSettings(): Promise<void> {
    if (this.loaded) return;
    const {loadSettings, remember} = await import('../settings.js');
    if (this.loaded) return;
    const loaded = loadSettings();
    this.loaded = {store: loaded.store, remember};
    if (loaded.recovered) addMessage(this.store, {level: 'warn', text: loaded.recovered});
  }

  get settingsLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** The remembered settings; loadSettings() first. */
  get settings(): Conf<Settings> {
    if (!this.loaded) throw new Error('the settings were used before WizardController.loadSettings()');
    return this.loaded.store;
  }

  private async remember(values: Partial<Settings>): Promise<void> {
    await this.loadSettings();
    this.loaded!.remember(this.loaded!.store, values);
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  cancel(): void {
    if (!this.current) return;
    // resize2fs and e2fsck are never signalled: say what runs and that the cancel comes right after it.
    const notice = waitNotice();
    if (notice && !this.current.signal.aborted) addMessage(this.store, {level: 'warn', text: `cancel: ${notice}`});
    this.current.abort();
  }

  /**
   * Read-only; safe to call while typing. Judged for the remembered era (else the document's) and the
   * role its upstream file name says (cache-H, storage-H, config-H...), else the cache.
   */
  async inspect(path: string): Promise<Inspection> {
    return inspectVolume(path, await this.expectationFor(path));
  }

  /** The era the settings remember, once they are loaded. */
  private rememberedEra(): Era | undefined {
    return this.settingsLoaded ? findEra(this.settings.get('era')) : undefined;
  }

  private async expectationFor(path: string): Promise<Expectation> {
    await this.loadSettings().catch(() => undefined); // a broken settings file: the document's era
    const era = this.rememberedEra() ?? defaultExpectation().era;
    return {era, spec: roleOf(era, path) ?? volumeSpec(era, 'cache') ?? era.volumes[0]!};
  }

  async createVolume(input: {path: string; size: string; label?: string; createParent?: boolean}): Promise<ActionOutcome> {
    return this.act(async (env) => {
      const sizeBytes = parseSize(input.size);
      checkVolumeSize(sizeBytes, input.size, false, 'wizard');
      const {label, warnings} = checkLabel(input.label ?? CACHE_LABEL);
      for (const note of await reclaimCreateLeftovers(env.runner, input.path)) env.warn(note);
      const target = checkTarget(input.path);
      const space = await checkSpace(target.dir, sizeBytes, 'offline');
      if (space.error) throw new UsageError(space.error.message, space.error.fix);
      for (const w of [...warnings, ...target.warnings, ...space.warnings]) env.warn(w);
      if (target.parentMissing && !input.createParent) throw new UsageError(`${target.dir} does not exist`, 'create the directory first');
      // The wizard's own step makes the cache volume as the document's era (E4) needs it.
      const job: CreateJob = {target, sizeBytes, label, format: 'qcow2', fs: 'ext4', method: 'offline', createParent: Boolean(input.createParent)};
      await runFlow(createFlow(job), job, env);
      await this.remember({volumePath: target.path, volumeSize: input.size});
      return this.store.getState().steps.find((s) => s.id === 'verify')?.detail;
    });
  }

  /** The era to offer: detected from the remembered launcher, else remembered, else E4. */
  async offeredEra(): Promise<EraChoice> {
    await this.loadSettings();
    return offeredEra(this.settings.get('launcherPath'), this.settings.get('era'));
  }

  async chooseEra(id: string): Promise<void> {
    await this.remember({era: id});
  }

  /** Read-only: what preparing the set would do (reuse, create, or a problem per volume). */
  planSet(input: SetInput): Promise<Plan> {
    return planFor(input);
  }

  /**
   * Makes every missing volume of the set in one run (the same parts as `tdx-wizard prepare`),
   * after the same checks; a volume the guest would refuse stops it before anything changes.
   * Remembers the era, the directory and the cache volume (the launch form's cache field).
   */
  async prepareSet(input: SetInput): Promise<ActionOutcome> {
    return this.act(async (env) => {
      checkHostnameForNames(input.hostname);
      checkSetDir(input.dir, true);
      const plan = await planFor(input);
      const refused = refusals(plan);
      if (refused) throw refused;
      refuseOtherOwners(plan.actions.map((a) => a.path), input.hostname); // one volume, one VM
      const inLayout = layoutSibling(plan.dir) !== undefined;
      const todo = creating(plan);
      const needsConfig = todo.some((a) => a.spec.role === 'config');
      if (needsConfig && !input.config) throw new UsageError('the config volume is missing and its values were not given', 'go back and fill in the config volume fields');
      const config = needsConfig ? configValues(input.hostname, input.config!, env.warn) : undefined;
      if (todo.length) {
        if (inLayout) await makeFolder(env.runner, plan.dir); // 0700, as prepare makes it
        await checkBeforePrepare(env, plan);
        await runPrepare(env, plan, config, true);
      }
      if (inLayout) recordSet(plan, input.hostname, env.warn); // the folder's manifest, as prepare writes it
      // The launch form of this setup reads the seed from the same file rather than asking again (never stored).
      if (input.config?.seedFile) this.seedFile = input.config.seedFile;
      const cache = plan.actions.find((a) => a.spec.role === 'cache');
      const {minerSs58, vmIp, vmGateway, vmDns} = input.config ?? {};
      const volumes = Object.fromEntries(plan.actions.map((a) => [a.spec.role, a.path]));
      // A folder of the layout is the VM's own: the next set (another VM) starts from the layout again.
      await this.remember({era: plan.era.id, volumeDir: inLayout ? undefined : plan.dir, hostname: input.hostname, volumePath: cache?.path, volumes, minerSs58, vmIp, vmGateway, vmDns});
      if (inLayout) this.loaded!.store.delete('volumeDir');
      return todo.length ? setEvidence(env) : `nothing to do: every volume of the ${plan.era.id} set is there and the guest will accept it`;
    });
  }

  /** To the label the volume's role looks for (Inspection.expectedLabel), unless one is given. */
  async relabel(path: string, label?: string): Promise<ActionOutcome> {
    return this.act(async (env) => {
      for (const note of await reclaimFuseLeftovers(env.runner)) env.warn(note);
      const expect = await this.expectationFor(path);
      const before = await inspectVolume(path, expect);
      const job = {path, label: label ?? before.expectedLabel, before, expect};
      await runFlow(relabelFlow(job), job, env);
      return this.store.getState().steps.find((s) => s.id === 'read-back')?.detail;
    });
  }

  async grow(path: string, newSize: number): Promise<ActionOutcome> {
    return this.act(async (env) => {
      for (const note of await reclaimFuseLeftovers(env.runner)) env.warn(note);
      const before = await inspectVolume(path);
      if (newSize > (before.virtualSize ?? 0) && ['ext4', 'ext3', 'ext2'].includes(before.filesystem ?? '')) await refuseUnreachableGrow(path, before.format ?? 'qcow2', newSize);
      const job = {path, newSize, before};
      await runFlow(resizeFlow(job), job, env);
      return this.store.getState().steps.find((s) => s.id === 'read-back')?.detail;
    });
  }

  /**
   * Repairs a damaged volume (the typed name was asked on the screen): the same refusals and flow
   * as `tdx-wizard repair`, ending with the verdict read again.
   */
  async repair(path: string): Promise<ActionOutcome> {
    return this.act(async (env) => {
      for (const note of await reclaimFuseLeftovers(env.runner)) env.warn(note);
      const before = await inspectVolume(path);
      refuseRepair(before);
      const job: RepairJob = {path, before};
      await runFlow(repairFlow(job), job, env);
      const after = job.after!;
      // The done line names what was repaired; a clean qcow2 check shows in the step list.
      return [job.imageRepaired ? job.imageRepair : undefined, job.fsRepair, `verdict ${after.verdict}${after.accepted ? ' (the VM will accept it)' : `: ${after.reason}`}`].filter(Boolean).join('; ');
    });
  }

  /** Host checks: read-only, run through the runner so their commands show in the output pane. */
  async hostChecks(dir?: string): Promise<Check[]> {
    await this.loadSettings();
    return runChecks(this.runner, {dir: dir ?? process.cwd(), launcher: this.settings.get('launcherPath'), era: this.rememberedEra()});
  }

  /** trusted-storage check, read-only: what the trusted storage screen shows before create. */
  async trustedChecks(o: {runtimeClass: string; node: string}): Promise<Check[]> {
    const {trustedChecks} = await import('../trusted/checks.js');
    return trustedChecks(this.runner, o);
  }

  /** trusted-storage create, as the CLI does it without --apply: the inputs, the checks (a host finding refuses), the flow. */
  async trustedCreate(request: TrustedRequest, apply = false): Promise<ActionOutcome> {
    return this.act(async (env) => {
      const [{refuseBlocking, trustedChecks}, {trustedFlow, unitName}, {planTrusted}, {applyManifests}] = await trustedModules();
      const job = await planTrusted(request);
      for (const c of refuseBlocking(await trustedChecks(env.runner, {runtimeClass: request.runtimeClass, node: request.node, signal: env.signal}), apply)) env.warn(c.summary, c.fix);
      await runFlow(trustedFlow(job), job, env);
      const made = `${job.file} on ${job.device ?? 'a loop device'}, attached at every boot by ${unitName(job.input.name)}`;
      if (!apply) return `${made}; apply the manifests: kubectl apply -f ${job.manifestPath}`;
      const applied = await applyManifests(env.runner, job);
      return `${made}; applied ${job.manifestPath}: claim ${applied.claim}, pod ${applied.pod}`;
    });
  }

  /** What a teardown of trusted storage `name` in `dir` would remove; refuses (in use, still being made, no record) as the CLI does. */
  async trustedTeardownPlan(name: string, dir: string): Promise<TeardownPlan> {
    const {planTeardown} = await import('../trusted/teardown.js');
    return planTeardown(name, resolvePath(dir));
  }

  /** trusted-storage teardown after the typed name, as the CLI does it without --kubectl: checked again first. */
  async trustedTeardown(name: string, dir: string): Promise<ActionOutcome> {
    return this.act(async (env) => {
      const {planTeardown, runTeardown} = await import('../trusted/teardown.js');
      return (await runTeardown(env.runner, await planTeardown(name, resolvePath(dir)), false)).text;
    });
  }

  /** The inventory of the host's volumes (tdx-wizard volumes): read-only, no process per volume. */
  async volumes(): Promise<Inventory> {
    await this.loadSettings();
    return takeInventory([]);
  }

  /** Runs a check's fix for the operator (only fixes the check marked safe, as an argv). */
  async runFix(check: Check): Promise<ActionOutcome> {
    const argv = check.fixArgv;
    if (!argv?.length) return {ok: false, message: `no fix the wizard can run for "${check.title}"`};
    return this.act(async (env) => {
      setSteps(this.store, `Fix: ${check.title}`, [{id: 'fix', title: check.fix ?? argv.join(' '), status: 'running', startedAt: Date.now()}]);
      await env.runner.run({cmd: argv[0]!, args: argv.slice(1), title: `Fix: ${check.fix}`});
      setSteps(this.store, `Fix: ${check.title}`, [{id: 'fix', title: check.fix ?? argv.join(' '), status: 'done', endedAt: Date.now()}]);
      return `ran ${check.fix}`;
    });
  }

  nbdDevices(): Promise<NbdDevice[]> {
    return listDevices(hostRoots());
  }

  /** What an earlier, interrupted run left attached (nothing is touched here). */
  leftovers(): Promise<RecoverItem[]> {
    return recoverStale(this.runner, hostRoots(), {decide: async () => false});
  }

  async detach(device: string): Promise<ActionOutcome> {
    const job: {device: string; result?: string} = {device};
    return this.act(async (env) => {
      await runFlow(detachFlow(job), job, env);
      return job.result;
    });
  }

  async loadNbd(persist = false): Promise<ActionOutcome> {
    const job = {persist} as {persist: boolean; result?: string};
    return this.act(async (env) => {
      await runFlow(loadFlow(job), job, env);
      return job.result;
    });
  }

  /** The era's own reading of the pid file and /proc (run-td's QEMU is named chutes-td), when an era is remembered. */
  status(): Promise<VmStatus> {
    const era = this.rememberedEra();
    return vmStatus(10, undefined, era ? adapterFor(era).status() : undefined);
  }

  /** The launch form of the era: in first-time setup the set's, otherwise the launcher's. */
  async launchForm(setup: boolean): Promise<LaunchForm> {
    await this.loadSettings();
    return launchForm(this.settings.store, setup, process.cwd(), setup ? {seedFile: this.seedFile} : {});
  }

  /** The form's values checked as `tdx-wizard launch` checks them, then the review (read-only). */
  async reviewLaunch(era: Era, values: Record<string, string>): Promise<{ok: false; message: string; fix?: string} | {ok: true; launcher: string; fields: LaunchFields; notes: string[]; review: LaunchReview}> {
    const checked: LaunchCheck = await checkLaunch(era, values, sysRoot());
    if (!checked.ok) return checked;
    const {value: fields, notes} = checked.check;
    return {ok: true, launcher: checked.launcher, fields, notes, review: await reviewLaunch(checked.launcher, era, fields, sysRoot(), this.runner)};
  }

  /** Launches through the era's adapter; the seed is masked everywhere before anything is recorded. */
  async launch(launcher: string, fields: LaunchFields, era?: Era): Promise<ActionOutcome> {
    if (fields.minerSeed) this.runner.addSecret(fields.minerSeed);
    const job: LaunchJob = {launcher, fields, ...(era ? {era} : {})};
    return this.act(async (env) => {
      await runFlow(launchFlow(job), job, env);
      // What the form offers next time; never the seed.
      const {hostname, minerSs58, networkType, netIface, vmIp, vmGateway, vmDns, sshPort, image} = fields;
      const volumes = volumesOf(fields);
      await this.remember({
        ...(era ? {era: era.id} : {}),
        launcherPath: launcher, hostname, minerSs58, networkType, netIface, vmIp, vmGateway, vmDns, image,
        sshPort: sshPort !== undefined ? String(sshPort) : undefined,
        volumePath: fields.cacheVolume || undefined,
        ...(Object.keys(volumes).length ? {volumes} : {}),
      });
      return job.pid ? `the VM runs as pid ${job.pid}; watch it boot in the serial log` : 'the launcher finished, but the pid file did not appear: see the output above';
    });
  }

  /** How the VM would be stopped: the remembered launcher, its era (its files, else the remembered era) and the adapter's command. */
  async stopTarget(): Promise<{launcher: string; era: Era; invocation: Invocation}> {
    await this.loadSettings();
    const launcher = resolveLauncher(undefined, process.cwd(), this.settings.get('launcherPath'), this.rememberedEra());
    const {era} = await launchEra(launcher, undefined, this.settings.get('era'));
    return {launcher, era, invocation: adapterFor(era).stopInvocation(launcher)};
  }

  async stop(target: {launcher: string; era: Era}): Promise<ActionOutcome> {
    return this.act(async (env) => {
      await runFlow(stopFlow(target.launcher, target.era), {launcher: target.launcher}, env);
      return 'the VM was stopped';
    });
  }

  /** Runs one action with its own AbortController; errors become an outcome, never a crash. */
  async act(body: (env: StepEnv) => Promise<string | undefined>): Promise<ActionOutcome> {
    if (this.current) return {ok: false, message: 'another step is still running'};
    const controller = new AbortController();
    this.current = controller;
    setSteps(this.store, '', []);
    const env: StepEnv = {
      runner: this.runner,
      store: this.store,
      signal: controller.signal,
      warn: (text) => addMessage(this.store, {level: 'warn', text}),
      info: (text) => addMessage(this.store, {level: 'info', text}),
    };
    // Commands started by this action stop when it is cancelled.
    this.runner.scopeSignal = controller.signal;
    try {
      const detail = await body(env);
      return {ok: true, detail};
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const fix = error instanceof UsageError || error instanceof StepError ? error.fix : undefined;
      addMessage(this.store, {level: 'error', text: fix ? `${message} (fix: ${fix})` : message});
      return {ok: false, message, fix, cancelled: error instanceof Cancelled};
    } finally {
      this.runner.scopeSignal = undefined;
      this.current = undefined;
    }
  }

  close(): void {
    void this.logFeed?.stop(); // started early and never shown
    this.release();
    this.transcript?.close();
  }
}

/**
 * Trusted storage's modules load when its screen first asks for them: they bring kubernetes-models
 * and yaml (about 650 KB of code), which the other screens and the log pane never use: loaded at
 * start-up they were 2 MB of the log pane's peak memory (`node bench/log-ab.mjs`) and their
 * compile time.
 */
function trustedModules() {
  return Promise.all([import('../trusted/checks.js'), import('../trusted/flow.js'), import('../trusted/plan.js'), import('../trusted/apply.js')]);
}
