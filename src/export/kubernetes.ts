/**
 * Kubernetes target: a Deployment (and a PodDisruptionBudget) per process type, a Service for
 * web, the release as a Job, and `apply.sh` that runs the Job to completion before the rollout.
 * Validated in the tests against the `kubernetes-models` 4.x schemas.
 * @module
 */
import { createHash } from 'node:crypto';
// Type-only (erased at build): the dev dependency's types make tsc reject a misspelled field.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { argvFor, literalPort } from './command.js';
import { type ExportFile, header, yamlDocuments } from './files.js';
import type { Formation, ProcessPlan } from './model.js';

type Labels = Record<string, string>;

/** Name of the Secret the `.env` variables are read from. */
export function secretName(f: Formation): string {
  return `${f.app}-env`;
}

/**
 * The Job's name changes with what it runs (image, command, variables): a Job is immutable, so a
 * new release needs a new one, and the same release re-applied is left alone (not run twice).
 */
export function releaseJobName(f: Formation): string | undefined {
  if (!f.release) return undefined;
  const identity = JSON.stringify([f.image, f.release.command, f.envNames]);
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 8);
  return `${f.app}-release-${hash}`;
}

/** Render the Kubernetes manifests. */
export function renderKubernetes(f: Formation): ExportFile[] {
  const files: ExportFile[] = [];
  const job = releaseJobName(f);
  if (f.release && job) {
    files.push({
      path: 'release.yaml',
      text: `${header('kubernetes')}# Apply it and wait for it before the Deployments: ./apply.sh does both.\n${yamlDocuments([releaseJob(f, f.release, job)])}`,
    });
  }
  for (const plan of f.types) {
    const objects: (IDeployment | IPodDisruptionBudget | IService)[] = [
      deployment(f, plan),
      disruptionBudget(f, plan),
    ];
    if (plan === f.web) objects.push(service(f, plan));
    files.push({ path: `${plan.slug}.yaml`, text: header('kubernetes') + yamlDocuments(objects) });
  }
  files.push({ path: 'apply.sh', text: applyScript(f, job, files), mode: 0o755 });
  return files;
}

function labels(f: Formation, plan: ProcessPlan): Labels {
  return {
    'app.kubernetes.io/name': f.app,
    'app.kubernetes.io/component': plan.slug,
    'app.kubernetes.io/part-of': f.app,
    'app.kubernetes.io/managed-by': 'drove',
  };
}

function selector(f: Formation, plan: ProcessPlan): Labels {
  return { 'app.kubernetes.io/name': f.app, 'app.kubernetes.io/component': plan.slug };
}

function env(f: Formation, plan: ProcessPlan): IEnvVar[] {
  const own: IEnvVar[] = [];
  if (plan === f.web) own.push({ name: 'PORT', value: String(f.port) });
  own.push({ name: 'DYNO', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  own.push({ name: 'PS', value: plan.name });
  // One reference per name: a missing key stops the pod with a clear event instead of
  // starting it without the variable.
  const secret = secretName(f);
  return [
    ...own,
    ...f.envNames.map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: secret, key: name } },
    })),
  ];
}

function container(f: Formation, plan: ProcessPlan): IContainer {
  const c: IContainer = {
    name: plan.slug,
    image: f.image,
    imagePullPolicy: 'IfNotPresent',
    command: argvFor(plan.form, literalPort(f.port)),
    env: env(f, plan),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
  };
  if (plan === f.web) {
    c.ports = [{ name: 'http', containerPort: f.port, protocol: 'TCP' }];
    const check: IProbe = f.healthPath
      ? { httpGet: { path: f.healthPath, port: 'http' } }
      : { tcpSocket: { port: 'http' } };
    c.readinessProbe = { ...check, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 };
    c.livenessProbe = {
      ...check,
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    };
    // Endpoint removal and SIGTERM happen at the same time (kubernetes/kubernetes#67592): keep
    // serving while the Service and ingresses forget this pod, then SIGTERM. The grace period
    // counts from the start of the pause.
    c.lifecycle = { preStop: { sleep: { seconds: f.drainSeconds } } };
  }
  return c;
}

function podSpec(f: Formation, plan: ProcessPlan, restartPolicy: 'Always' | 'Never'): IPodSpec {
  const drain = plan === f.web ? f.drainSeconds : 0;
  return {
    restartPolicy,
    terminationGracePeriodSeconds: f.shutdownTimeoutSeconds + drain,
    containers: [container(f, plan)],
  };
}

function deployment(f: Formation, plan: ProcessPlan): IDeployment {
  const spec: NonNullable<IDeployment['spec']> = {
    replicas: plan.count,
    revisionHistoryLimit: 5,
    selector: { matchLabels: selector(f, plan) },
    template: { metadata: { labels: labels(f, plan) }, spec: podSpec(f, plan, 'Always') },
  };
  if (plan === f.web) {
    // A new pod must be ready before an old one leaves: capacity never drops during a rollout.
    spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    spec.minReadySeconds = 5;
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${f.app}-${plan.slug}`, labels: labels(f, plan) },
    spec,
  };
}

function disruptionBudget(f: Formation, plan: ProcessPlan): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: `${f.app}-${plan.slug}`, labels: labels(f, plan) },
    spec: { maxUnavailable: 1, selector: { matchLabels: selector(f, plan) } },
  };
}

function service(f: Formation, plan: ProcessPlan): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${f.app}-${plan.slug}`, labels: labels(f, plan) },
    spec: {
      type: 'ClusterIP',
      // Non-sticky: sessions live in a shared store, so any replica serves any request.
      sessionAffinity: 'None',
      selector: selector(f, plan),
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

function releaseJob(f: Formation, release: ProcessPlan, name: string): IJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: labels(f, release) },
    spec: {
      // Run once: a failed migration is not retried on its own, and the rollout does not start.
      backoffLimit: 0,
      // Heroku's release phase limit. No ttlSecondsAfterFinished: a deleted Job would run again
      // at the next apply.
      activeDeadlineSeconds: 3600,
      template: { metadata: { labels: labels(f, release) }, spec: podSpec(f, release, 'Never') },
    },
  };
}

function applyScript(f: Formation, job: string | undefined, files: ExportFile[]): string {
  const formation = files.filter((x) => x.path !== 'release.yaml' && x.path.endsWith('.yaml'));
  const lines = [
    '#!/bin/sh',
    header('kubernetes').trimEnd(),
    `# Roll out ${f.app}: the release Job first (once), then the Deployments, waiting for each.`,
    `# The Secret must exist: kubectl create secret generic ${secretName(f)} --from-env-file=.env`,
    'set -eu',
    'cd "$(dirname "$0")"',
  ];
  if (job) {
    lines.push(
      'kubectl apply -f release.yaml',
      '# kubectl wait cannot wait for "complete or failed": poll the conditions.',
      'while :; do',
      `  state=$(kubectl get job/${job} -o jsonpath='{.status.conditions[?(@.status=="True")].type}')`,
      '  case "$state" in',
      '    *Complete*) break ;;',
      `    *Failed*) echo "release job ${job} failed: the formation was not changed" >&2; exit 1 ;;`,
      '  esac',
      '  sleep 2',
      'done',
    );
  }
  lines.push(`kubectl apply ${formation.map((x) => `-f ${x.path}`).join(' ')}`);
  for (const plan of f.types) {
    lines.push(`kubectl rollout status deployment/${f.app}-${plan.slug} --timeout=600s`);
  }
  return `${lines.join('\n')}\n`;
}
