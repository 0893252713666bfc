// Node runs file system calls on libuv's thread pool, 4 threads by default: a stop of 1,000
// sandboxes writes thousands of records, and 16 threads halve the time measured here. It must be
// set before the pool's first use, so this module is imported first by the CLI's entry.
// (Deno has no such pool; the variable is then unused.)
process.env.UV_THREADPOOL_SIZE ??= "16";
