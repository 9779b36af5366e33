/**
 * What the program must ask Azure with the deployer's Entra token (an ACR token exchange, a
 * read-only lookup), done as a provider function: `command:local:run` runs a self-contained
 * Node.js script where Pulumi's engine runs providers, never while the program is evaluated.
 * Under mocks the mocks answer it like any other function, and nothing calls out. The token goes
 * on stdin (never on a command line) and the answer is stdout, kept out of the engine's log.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

/**
 * Runs `script` (a function whose source text is the whole program: no imports, no closure) with
 * `node -e`, `environment` set and `stdin` on its standard input; its stdout, secret.
 */
export function runNodeFunction(script: () => void, environment: Record<string, pulumi.Input<string>>, stdin: pulumi.Input<string>, parent: pulumi.Resource): pulumi.Output<string> {
  const result = command.local.runOutput(
    {
      interpreter: [process.execPath, "-e"],
      command: `(${script.toString()})()`,
      environment,
      stdin: pulumi.secret(stdin),
      logging: command.types.enums.local.Logging.None,
    },
    { parent },
  );
  return pulumi.secret(result.stdout);
}

/** GET of an Azure Resource Manager path (`/subscriptions/...?api-version=...`) with the ARM token on stdin; prints the body. */
function armGetScript(): void {
  const chunks: Buffer[] = [];
  process.stdin.on("data", (c: Buffer) => chunks.push(c));
  process.stdin.on("end", async () => {
    const url = `https://management.azure.com${process.env.ARM_PATH ?? ""}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${Buffer.concat(chunks).toString().trim()}` } });
    const body = await res.text();
    if (!res.ok) {
      process.stderr.write(`GET ${url} failed: ${res.status} ${body.slice(0, 500)}\n`);
      process.exit(1);
    }
    process.stdout.write(body);
  });
}

/**
 * A read-only Azure Resource Manager lookup during preview and up: the JSON Azure answers for
 * `path`, or undefined when the function answered nothing (mocks that echo their arguments).
 */
export function armGet(path: pulumi.Input<string>, armToken: pulumi.Input<string>, parent: pulumi.Resource): pulumi.Output<unknown> {
  // The answer is not secret (a list Azure publishes); the token that fetched it is.
  return pulumi.unsecret(runNodeFunction(armGetScript, { ARM_PATH: path }, armToken, parent)).apply((body) => (body ? (JSON.parse(body) as unknown) : undefined));
}
