import { describe, expect, test } from "vitest";
import { formatImageReference, parseImageReference } from "../../src/image/image-reference.ts";

const digest = `sha256:${"a".repeat(64)}`;

describe("parseImageReference()", () => {
  test.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["user/app", "docker.io/user/app:latest"],
    ["quay.io/org/app:v1", "quay.io/org/app:v1"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:dev", "localhost:5000/app:dev"],
    ["127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest"],
    [`busybox@${digest}`, `docker.io/library/busybox@${digest}`],
    [`busybox:1.36@${digest}`, `docker.io/library/busybox:1.36@${digest}`],
    ["[::1]:5000/app", "[::1]:5000/app:latest"],
    ["my-registry.example/a__b/c.d-e:tag_1.x", "my-registry.example/a__b/c.d-e:tag_1.x"],
  ])("normalizes %s to %s", (text, expected) => {
    expect(formatImageReference(parseImageReference(text))).toBe(expected);
  });

  test.each([
    ["", "it is empty"],
    ["Busybox", "not a valid repository name component"],
    ["busybox:", "not a valid tag"],
    ["busybox:-x", "not a valid tag"],
    ["busybox@sha256:abc", "not sha256:<64 hex digits>"],
    [`busybox@sha512:${"a".repeat(128)}`, "algorithm sha512 is not supported"],
    ["a//b", "not a valid repository name component"],
    ["host:0/app", "not a valid port"],
    ["host:99999/app", "not a valid port"],
    ["-bad.host/app", "not a valid registry"],
    [`x/${"a".repeat(300)}`, "longer than 255"],
    ["busybox latest", "not a valid repository name component"],
  ])("refuses %j: %s", (text, why) => {
    expect(() => parseImageReference(text)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringContaining(why) }));
  });
});
