// Which trusted-storage checks stop create (no imports: the wizard's screen reads these too).

/** The checks whose failure makes create pointless on this host. */
export const HOST_CHECKS = ['trusted:losetup', 'trusted:loop-free', 'trusted:systemctl'];
/** The checks --apply needs to pass. */
export const CLUSTER_CHECKS = ['trusted:kubectl', 'trusted:context', 'trusted:cluster', 'trusted:runtime-class', 'trusted:node'];
