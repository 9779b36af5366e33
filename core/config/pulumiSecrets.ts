/**
 * Pulumi's passphrase secrets provider, for the offline tools: a stack file whose secrets are
 * encrypted with a passphrase carries `encryptionsalt: v1:<salt>:v1:<nonce>:<ciphertext>`, and
 * each secret value is `secure: v1:<nonce>:<ciphertext>`. The key is PBKDF2-SHA256 of the
 * passphrase over the salt (1,000,000 iterations, 32 bytes), values are AES-256-GCM with a
 * 12-byte nonce, the tag appended to the ciphertext, all base64; the salt's own ciphertext holds
 * "pulumi" so a wrong passphrase is told apart. (Pulumi's Go source:
 * `sdk/go/common/resource/config/crypt.go` `NewSymmetricCrypterFromPassphrase`,
 * `symmetricCrypter.EncryptValue`; `pkg/secrets/passphrase/manager.go` `NewPassphraseSecretsManager`.)
 *
 * `aks-inference import-v1` encrypts a v1 service's keys with it, and local mode decrypts them,
 * without the Pulumi CLI. Other secrets providers (Pulumi Cloud, Azure Key Vault) need the CLI.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";

const ITERATIONS = 1_000_000;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 8;
/** What the salt state's ciphertext decrypts to under the right passphrase. */
const VERIFICATION = "pulumi";

export class SecretsError extends Error {}

/** Encrypts and decrypts the `secure:` values of one passphrase-encrypted stack. */
export interface Crypter {
  encrypt(plaintext: string): string;
  /** Throws SecretsError when the value was not encrypted under this key. */
  decrypt(ciphertext: string): string;
}

function crypterOf(key: Buffer): Crypter {
  return {
    encrypt(plaintext) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
    },
    decrypt(ciphertext) {
      const m = /^v1:([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(ciphertext);
      if (!m) throw new SecretsError("not a passphrase-encrypted value (v1:<nonce>:<ciphertext>)");
      const nonce = Buffer.from(m[1], "base64");
      const sealed = Buffer.from(m[2], "base64");
      if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES) throw new SecretsError("not a passphrase-encrypted value (bad nonce or length)");
      const decipher = createDecipheriv("aes-256-gcm", key, nonce);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch {
        throw new SecretsError("the value does not decrypt under this stack's passphrase");
      }
    },
  };
}

/** Derived keys by salt state and passphrase: deriving one takes about a second. */
const derived = new Map<string, Crypter>();

/**
 * The crypter of a stack whose `encryptionsalt` is `saltState`, given its passphrase. Throws
 * SecretsError naming what is wrong (never the passphrase) for a malformed state or a wrong passphrase.
 */
export function passphraseCrypter(saltState: string, passphrase: string): Crypter {
  const cacheKey = `${saltState}\0${passphrase}`;
  const known = derived.get(cacheKey);
  if (known) return known;
  const m = /^v1:([A-Za-z0-9+/=]+):(v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+)$/.exec(saltState);
  if (!m) throw new SecretsError("encryptionsalt is not a passphrase provider's state (v1:<salt>:v1:<nonce>:<ciphertext>)");
  const crypter = crypterOf(pbkdf2Sync(passphrase, Buffer.from(m[1], "base64"), ITERATIONS, KEY_BYTES, "sha256"));
  let check: string;
  try {
    check = crypter.decrypt(m[2]);
  } catch {
    check = "";
  }
  if (check !== VERIFICATION) throw new SecretsError("incorrect passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase");
  derived.set(cacheKey, crypter);
  return crypter;
}

/** A new `encryptionsalt` for `passphrase`, as `pulumi stack init` with the passphrase provider writes it. */
export function newSaltState(passphrase: string): string {
  const salt = randomBytes(SALT_BYTES);
  const crypter = crypterOf(pbkdf2Sync(passphrase, salt, ITERATIONS, KEY_BYTES, "sha256"));
  return `v1:${salt.toString("base64")}:${crypter.encrypt(VERIFICATION)}`;
}

/**
 * The passphrase as the Pulumi CLI reads it: `PULUMI_CONFIG_PASSPHRASE`, else the file named by
 * `PULUMI_CONFIG_PASSPHRASE_FILE` (trimmed); undefined when neither is set.
 */
export function passphraseFromEnv(env: NodeJS.ProcessEnv, readFile: (file: string) => string): string | undefined {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return env.PULUMI_CONFIG_PASSPHRASE;
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return readFile(env.PULUMI_CONFIG_PASSPHRASE_FILE).trim();
  return undefined;
}
