export { CUSTOMER_COLUMNS, toCustomerRecord } from './customer-query.service';
export type { CustomerRecord } from './customer-query.service';
export { toCustomerDemand } from './customer-ref';
/** How a row names its customer (id or identifiers); `CustomerRef` here is the GraphQL type. */
export type { CustomerRef as CustomerLocator } from './customer-ref';
export { TRANSACTION_TYPES } from './customer-stats.service';
export { CustomerConnectionRef, CustomerKindEnum, CustomerRef, CustomerRefInput, IdentifierInputRef } from './customer.graphql';
export type { CustomerRow, CustomerService } from './customer.service';
export type { RefreshGatherer, RefreshRequester } from './customers.jobs';
export { identifierKey, isIdentifierProblem, normalizeIdentifier } from './identity';
export type { Identifier, IdentifierInput } from './identity';
export { IdentityRaceError, SERIALIZE_AFTER_ATTEMPT, planCustomerResolution, resolveCustomers, resolveStagedIdentifiers } from './identity-resolver';
export type { CustomerDemand, NewCustomerProfile, StagedIdentifierTables, StagedRefusal } from './identity-resolver';
export { TombstoneHasher } from './tombstones';
