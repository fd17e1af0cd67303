// socket.io that any process can serve: websocket transport only, events shared through Redis.
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { pub, sub } = require('./redis');

const io = new Server(http.createServer().listen(Number(process.env.PORT)), {
  transports: ['websocket'],
  adapter: createAdapter(pub, sub),
});
io.on('connection', (socket) => socket.emit('hello', process.pid));
