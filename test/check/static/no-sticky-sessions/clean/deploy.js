// The Service without affinity.
module.exports = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web' },
  spec: { selector: { app: 'web' }, sessionAffinity: 'None', ports: [{ port: 80 }] },
};
