import { ValidationError } from "../model/errors.js";

/**
 * Statements that would end or split the transaction `sqlRun` wraps around them (after any
 * leading comments). Refused so a failing statement is always rolled back by the store, and
 * `SET LOCAL` settings end with the statement.
 */
const TRANSACTION_CONTROL =
  /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(?:BEGIN|COMMIT|ROLLBACK|END|ABORT|SAVEPOINT|RELEASE|START\s+TRANSACTION|PREPARE\s+TRANSACTION|COMMIT\s+PREPARED|ROLLBACK\s+PREPARED)\b/i;

/** The error of a statement that tries to control the transaction `sqlRun` owns. */
export function transactionControlError(): ValidationError {
  return new ValidationError(
    "sql",
    "sql: transaction control statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …) are not allowed; each sql task already runs in its own transaction",
  );
}

/** Throws `transactionControlError` for BEGIN, COMMIT, ROLLBACK, SAVEPOINT and the like. */
export function refuseTransactionControl(statement: string): void {
  if (TRANSACTION_CONTROL.test(statement)) throw transactionControlError();
}
