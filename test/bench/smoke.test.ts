// A tiny run of every benchmark (`--quick`): each must start its servers and clients, finish,
// and produce figures that are numbers. Never a timed assertion: the figures of a smoke run
// mean nothing, and CI machines are noisy.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { BENCHMARKS, runInChild } from "./run.js";

describe("benchmarks (quick smoke run)", () => {
  for (const name of BENCHMARKS) {
    test(`${name} produces figures`, async () => {
      const lines: string[] = [];
      const figures = await runInChild(name, { quick: true, log: (l) => lines.push(l) });
      assert.ok(figures.length > 0, `${name} returned no figures:\n${lines.join("\n")}`);
      for (const f of figures) {
        assert.equal(f.bench, name);
        assert.ok(Number.isFinite(f.value), `${name}: "${f.name}" is ${f.value}`);
        if (f.baseline) assert.ok(Number.isFinite(f.baseline.value), `${name}: baseline of "${f.name}" is ${f.baseline.value}`);
        if (f.target) assert.equal(typeof f.met, "boolean", `${name}: "${f.name}" has a target but no verdict`);
        assert.ok(f.command && f.command.length > 0, `${name}: "${f.name}" does not say how it was measured`);
        assert.ok(!/pkg-[A-Za-z0-9]{40}/.test(JSON.stringify(f)), `${name}: "${f.name}" carries a token`);
      }
    });
  }
});
