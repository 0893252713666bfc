/**
 * The entry of podvisor's worker threads: the actor runtime's generic worker, with the sandbox and
 * container behaviours loaded up front so the first spawn does not wait for a module load.
 */
import "../src/actor-system/worker-entry.ts";
import "./sandbox.ts";
import "./container.ts";
