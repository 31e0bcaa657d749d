// The workload sizes of a full run and of a --quick one, shared by bench/run.mjs and the
// probes that repeat one of its rows (so a probe's "full" is the bench's full).
const MiB = 1024 * 1024;

/** @param {boolean} quick */
export function benchSizes(quick) {
  return quick
    ? { big: 128 * MiB, bigLabel: '128 MiB', medium: 2 * MiB, mediumLabel: '2 MiB', many: 50, logins: 50, entries: 2000, smallClients: 10, smallRounds: 30, ftpsSmallRounds: 30, idle: 200 }
    : { big: 1024 * MiB, bigLabel: '1 GiB', medium: 10 * MiB, mediumLabel: '10 MiB', many: 200, logins: 200, entries: 10_000, smallClients: 20, smallRounds: 200, ftpsSmallRounds: 50, idle: 1000 };
}
