/**
 * The keys a key-auth service answers to in local mode. A service with configured `keys` (a
 * migrated v1 service keeps the keys its clients hold) answers to those, as on the cluster; the
 * stack file holds them as Pulumi secrets, which local mode decrypts when the stack uses the
 * passphrase provider and the passphrase is in the environment, as the Pulumi CLI reads it.
 * Without it the service fails alone, saying so; the others start. Services without `keys` get
 * generated ones (core/decisions/auth.ts), kept across restarts in their key file.
 */
import { existsSync, readFileSync } from "node:fs";
import { generateKey, type ServiceKeys } from "../core/decisions/auth";
import { parseStackConfig, type ModelServiceConfig } from "../core/config";
import { writeKeyFile } from "../core/contracts/keyFile";
import { SecretsError, passphraseCrypter, passphraseFromEnv } from "../core/config/pulumiSecrets";
import { SECRET_PLACEHOLDER, encryptionSaltOf, readStackFileDecrypted } from "../core/config/stackFile";

/**
 * The configured keys of each key-auth service that has them, decrypted from `stackFileText` when
 * the config holds them as secrets; `{ error }` for a service whose keys cannot be read.
 */
export function configuredKeys(
  services: readonly ModelServiceConfig[],
  stack: { name: string; text?: string },
  env: NodeJS.ProcessEnv,
): Map<string, ServiceKeys | { error: string }> {
  const out = new Map<string, ServiceKeys | { error: string }>();
  const withKeys = services.filter((s) => s.authMode === "key" && s.keys);
  const secret = withKeys.filter((s) => s.keys!.primaryKey === SECRET_PLACEHOLDER || s.keys!.secondaryKey === SECRET_PLACEHOLDER);
  for (const s of withKeys) if (!secret.includes(s)) out.set(s.name, s.keys!);
  if (secret.length === 0) return out;
  let decrypted: ModelServiceConfig[] | string;
  try {
    decrypted = decryptServices(stack, env);
  } catch (err) {
    if (!(err instanceof SecretsError)) throw err;
    decrypted = err.message;
  }
  for (const s of secret) {
    const keys = typeof decrypted === "string" ? undefined : decrypted.find((d) => d.name === s.name)?.keys;
    out.set(s.name, keys ?? { error: `its keys are secrets of Pulumi.${stack.name}.yaml that local mode cannot read: ${typeof decrypted === "string" ? decrypted : "not found"}` });
  }
  return out;
}

function decryptServices(stack: { name: string; text?: string }, env: NodeJS.ProcessEnv): ModelServiceConfig[] {
  if (stack.text === undefined) throw new SecretsError("no stack file to read them from");
  const salt = encryptionSaltOf(stack.text);
  if (!salt) throw new SecretsError("the stack does not use the passphrase secrets provider (no encryptionsalt); local mode decrypts only passphrase-encrypted secrets");
  const passphrase = passphraseFromEnv(env, (file) => readFileSync(file, "utf8"));
  if (passphrase === undefined) throw new SecretsError("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase");
  const crypter = passphraseCrypter(salt, passphrase);
  return parseStackConfig(readStackFileDecrypted(stack.text, (c) => crypter.decrypt(c)), stack.name).services;
}

/**
 * Writes a service's key file: its configured keys at every start (the stack is the source of
 * truth, as the key Secret it creates on a cluster), else generated keys once.
 */
export function ensureKeyFile(file: string, configured: ServiceKeys | undefined): void {
  if (configured) writeKeyFile(file, configured);
  else if (!existsSync(file)) writeKeyFile(file, { primaryKey: generateKey(), secondaryKey: generateKey() });
}
