/** A throwaway self-signed certificate for tests, made by the real openssl. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificate {
  dir: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  remove(): void;
}

export function haveCommand(command: string, args = ["version"]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "name-echo-tls-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  // An EC key: generated in milliseconds, where RSA 2048 can take a second.
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    { stdio: "ignore", timeout: 20_000 },
  );
  return {
    dir, certPath, keyPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Skip with the reason when a tool is missing, but fail under CI=true, where .ci/run installs it. */
export function skipUnless(available: boolean, tool: string): string | false {
  if (available) return false;
  if (process.env.CI === "true") throw new Error(`${tool} is required under CI=true (.ci/run installs it)`);
  return `${tool} is not installed (apt-get install ${tool})`;
}
