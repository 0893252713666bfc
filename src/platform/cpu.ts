/** CPU time (user + system) this whole process has used, in milliseconds, over all its threads. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}
