// socket.io on a cluster with sticky sessions: each client pinned to one worker.
const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');
const { Server } = require('socket.io');
const { setupMaster, setupWorker } = require('@socket.io/sticky');

if (cluster.isPrimary) {
  const server = http.createServer();
  setupMaster(server, { loadBalancingMethod: 'least-connection' });
  server.listen(3000);
  for (let i = 0; i < os.availableParallelism(); i++) cluster.fork();
} else {
  const io = new Server(http.createServer());
  setupWorker(io);
  io.on('connection', (socket) => socket.emit('hello', process.pid));
}
