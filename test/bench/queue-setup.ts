import benchWorker from "../../bench/worker";
import { observeQueueHandler } from "../queue-ledger";

// The bench worker's default export copies the production handlers: its `queue` is wrapped too.
observeQueueHandler(benchWorker);
