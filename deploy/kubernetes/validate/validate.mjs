// Validates every object in deploy/kubernetes/*.yaml against the Kubernetes API schemas of
// kubernetes-models, and writes the switchyard.toml of each ConfigMap to OUT_DIR (first
// argument) as <configmap-name>.toml, for `switchyard --check`. Exit status 1 on any problem.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Service, Secret } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";

const models = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/Secret": Secret,
  "apps/v1/Deployment": Deployment,
};
const manifestDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = process.argv[2];
let failures = 0;
let objects = 0;
const shutdownSeconds = new Map();  // ConfigMap name -> server.shutdown_timeout in seconds
const deployments = [];

for (const file of readdirSync(manifestDir).filter((f) => f.endsWith(".yaml")).sort()) {
  for (const doc of parseAllDocuments(readFileSync(join(manifestDir, file), "utf8"))) {
    if (doc.errors.length > 0) {
      console.error(`${file}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      failures++;
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const where = `${file}: ${object.kind}/${object.metadata?.name}`;
    const Model = models[`${object.apiVersion}/${object.kind}`];
    if (!Model) {
      console.error(`${where}: no schema for ${object.apiVersion} ${object.kind} in validate.mjs`);
      failures++;
      continue;
    }
    try {
      new Model(object).validate();
      objects++;
    } catch (error) {
      console.error(`${where}: ${error.message}`);
      failures++;
    }
    const toml = object.kind === "ConfigMap" ? object.data?.["switchyard.toml"] : undefined;
    if (toml !== undefined && outDir) writeFileSync(join(outDir, `${object.metadata.name}.toml`), toml);
    if (toml !== undefined) {
      const match = toml.match(/^shutdown_timeout\s*=\s*"(\d+)s"/m);
      shutdownSeconds.set(object.metadata.name, match ? Number(match[1]) : 30);  // 30s: default
    }
    if (object.kind === "Deployment") deployments.push({ where, object });
  }
}
// The pod must outlive the drain: preStop sleep + shutdown_timeout <= the grace period, or the
// kubelet kills requests still in flight.
for (const { where, object } of deployments) {
  const spec = object.spec.template.spec;
  const grace = spec.terminationGracePeriodSeconds ?? 30;
  for (const volume of spec.volumes ?? []) {
    const timeout = shutdownSeconds.get(volume.configMap?.name);
    if (timeout === undefined) continue;
    for (const container of spec.containers) {
      if (!(container.volumeMounts ?? []).some((mount) => mount.name === volume.name)) continue;
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      if (preStop + timeout > grace) {
        console.error(`${where}: ${container.name}: preStop ${preStop}s + shutdown_timeout ` +
                      `${timeout}s exceeds terminationGracePeriodSeconds ${grace}`);
        failures++;
      }
    }
  }
}
console.log(`kubernetes-models: ${objects} objects valid, ${failures} problem(s)`);
process.exit(failures === 0 ? 0 : 1);
