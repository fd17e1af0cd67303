// @ts-nocheck -- a fixture for drove check --static, not compiled
// A to-do API that keeps its list and its id counter in module variables.
import express, { type Request, type Response } from 'express';

interface Todo {
  id: number;
  title: string;
}

const todos: Todo[] = [];
let nextId = 1;

const app = express();
app.use(express.json());

app.post('/todos', (req: Request, res: Response) => {
  const todo: Todo = { id: nextId, title: String(req.body.title) };
  nextId += 1;
  todos.push(todo);
  res.status(201).json(todo);
});

app.get('/todos', (_req: Request, res: Response) => {
  res.json(todos);
});

export default app;
