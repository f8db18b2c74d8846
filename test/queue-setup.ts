import worker from "../src/index";
import { observeQueueHandler, queueLedger } from "./queue-ledger";

// Setup files run before each test file: the ledger is made, and the handler wrapped, once per
// worker (test/queue-ledger.ts).
queueLedger();
observeQueueHandler(worker);
