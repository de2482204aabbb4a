/** A throwaway self-signed certificate for tests, made by the real openssl, and openssl's own client. */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect } from "./net.js";

export interface TestCertificate {
  dir: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
  remove(): void;
}

export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "name-echo-tls-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  // An EC key: generated in milliseconds, where RSA 2048 can take a second.
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore", timeout: 20_000 },
  );
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `openssl s_client` to 127.0.0.1:port types Hello; resolves once Hello Ali has come back, and ends the client. */
export async function opensslSaysHello(port: number): Promise<void> {
  const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-quiet"], { stdio: ["pipe", "pipe", "ignore"] });
  try {
    const output = collect(child.stdout);
    child.stdin.write("Hello\n");
    await output.until("Hello Ali\r\n", 10_000);
  } finally {
    child.kill();
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  }
}
