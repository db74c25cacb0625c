/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** How a batch mutation treats invalid rows. */
export type BatchMode =
  /** Write nothing if any row is invalid; report every invalid row. The default. */
  | 'ATOMIC'
  /** Write the valid rows and report the invalid ones. */
  | 'PER_ROW';

/** Typed filter over customers: every given field must match; combine with and, or, not. */
export type CustomerFilter = {
  /** All of these. */
  and?: Array<CustomerFilter> | null | undefined;
  /** Creation time. */
  createdAt?: DateTimeFilter | null | undefined;
  /** Display name. */
  displayName?: StringFilter | null | undefined;
  /** Customer global id. */
  id?: IdFilter | null | undefined;
  /** Has this identifier (normalised before matching). */
  identifier?: IdentifierInput | null | undefined;
  /** Number of interactions. */
  interactionCount?: IntFilter | null | undefined;
  /** Person or organisation. */
  kind?: CustomerKindFilter | null | undefined;
  /** Latest interaction. */
  lastSeenAt?: DateTimeFilter | null | undefined;
  /** Lifecycle stage. */
  lifecycleStage?: StringFilter | null | undefined;
  /** Not this. */
  not?: CustomerFilter | null | undefined;
  /** Any of these. */
  or?: Array<CustomerFilter> | null | undefined;
  /** Global id of the organisation. */
  organizationId?: IdFilter | null | undefined;
  /** Relationship manager. */
  owner?: StringFilter | null | undefined;
  /** Conditions on traits; all must hold. */
  traits?: Array<TraitFilter> | null | undefined;
  /** Number of transactions. */
  transactionCount?: IntFilter | null | undefined;
  /** Total transaction value. */
  transactionValue?: FloatFilter | null | undefined;
  /** Last profile change. */
  updatedAt?: DateTimeFilter | null | undefined;
};

/** A customer to create or update, matched by identifiers. Omitted fields keep their stored value. */
export type CustomerInput = {
  /** Name to show (at most 256 characters). */
  displayName?: string | null | undefined;
  /** At least one; new ones are added to the matched customer. */
  identifiers: Array<IdentifierInput>;
  /** Person (default for new customers) or organisation. */
  kind?: CustomerKind | null | undefined;
  /** Lifecycle stage. */
  lifecycleStage?: string | null | undefined;
  /** The organisation this person belongs to; created as an ORGANIZATION when identifiers match nothing. */
  organization?: CustomerRefInput | null | undefined;
  /** Relationship manager. */
  owner?: string | null | undefined;
  /** Merged into stored traits key by key (a JSON object, at most 32 KiB). */
  traits?: unknown;
};

/** Whether a customer is a person or an organisation. */
export type CustomerKind =
  /** A company or other organisation; persons can belong to it. */
  | 'ORGANIZATION'
  /** An individual. */
  | 'PERSON';

/** Conditions on the customer kind. */
export type CustomerKindFilter = {
  /** Equal to. */
  eq?: CustomerKind | null | undefined;
  /** One of. */
  in?: Array<CustomerKind> | null | undefined;
};

/** One ordering key; ties are broken by id. */
export type CustomerOrder = {
  /** Direction; ASC by default. */
  direction?: SortDirection | null | undefined;
  /** The key. */
  field: CustomerOrderField;
};

/** What customers can be ordered by. */
export type CustomerOrderField =
  /** Order by created at. */
  | 'CREATED_AT'
  /** Order by display name. */
  | 'DISPLAY_NAME'
  /** Order by id. */
  | 'ID'
  /** Order by interaction count. */
  | 'INTERACTION_COUNT'
  /** Order by last seen at. */
  | 'LAST_SEEN_AT'
  /** Order by transaction value. */
  | 'TRANSACTION_VALUE'
  /** Order by updated at. */
  | 'UPDATED_AT';

/** Profile for a customer that an interaction creates (used only when its identifiers match nobody). */
export type CustomerProfileInput = {
  /** Name to show. */
  displayName?: string | null | undefined;
  /** Person (default) or organisation. */
  kind?: CustomerKind | null | undefined;
  /** Lifecycle stage. */
  lifecycleStage?: string | null | undefined;
  /** Relationship manager. */
  owner?: string | null | undefined;
  /** Initial traits. */
  traits?: unknown;
};

/** Names one customer: by global id, or by identifiers (matched after normalisation). */
export type CustomerRefInput =
  {   /** Global id of an existing customer. */
  id: string; identifiers?: never; }
  |  { id?: never;   /** Identifiers; the customer is created when none matches (where the operation allows). */
  identifiers: Array<IdentifierInput>; };

/** Conditions on an instant; all given conditions must hold. */
export type DateTimeFilter = {
  /** At exactly this instant. */
  eq?: string | null | undefined;
  /** After. */
  gt?: string | null | undefined;
  /** At or after. */
  gte?: string | null | undefined;
  /** True: the field is empty; false: it has a value. */
  isNull?: boolean | null | undefined;
  /** Before. */
  lt?: string | null | undefined;
  /** At or before. */
  lte?: string | null | undefined;
};

/** Who started an interaction. */
export type Direction =
  /** The customer reached out. */
  | 'INBOUND'
  /** The business reached out. */
  | 'OUTBOUND';

/** Conditions on direction. */
export type DirectionFilter = {
  /** Equal to. */
  eq?: Direction | null | undefined;
};

/** Conditions on a number; all given conditions must hold. */
export type FloatFilter = {
  /** Equal to. */
  eq?: number | null | undefined;
  /** Greater than. */
  gt?: number | null | undefined;
  /** Greater than or equal to. */
  gte?: number | null | undefined;
  /** One of these values (at most 1000). */
  in?: Array<number> | null | undefined;
  /** True: the field is empty; false: it has a value. */
  isNull?: boolean | null | undefined;
  /** Less than. */
  lt?: number | null | undefined;
  /** Less than or equal to. */
  lte?: number | null | undefined;
  /** Not equal to. */
  ne?: number | null | undefined;
};

/** Conditions on a global id. */
export type IdFilter = {
  /** Equal to this global id. */
  eq?: string | null | undefined;
  /** One of these global ids (at most 1000). */
  in?: Array<string> | null | undefined;
  /** True: no id; false: any id. */
  isNull?: boolean | null | undefined;
};

/** An identifier of a customer. `email` is lower-cased, `phone` normalised to E.164; any other type is a namespace (`shopify`, `crm`) kept as given. */
export type IdentifierInput = {
  /** email, phone, or a namespace such as shopify or crm. */
  type: string;
  /** The identifier within its type. */
  value: string;
};

/** Conditions on an integer; all given conditions must hold. */
export type IntFilter = {
  /** Equal to. */
  eq?: number | null | undefined;
  /** Greater than. */
  gt?: number | null | undefined;
  /** Greater than or equal to. */
  gte?: number | null | undefined;
  /** One of these values (at most 1000). */
  in?: Array<number> | null | undefined;
  /** Less than. */
  lt?: number | null | undefined;
  /** Less than or equal to. */
  lte?: number | null | undefined;
  /** Not equal to. */
  ne?: number | null | undefined;
};

/** Typed filter over interactions: every given field must match; combine with and, or, not. */
export type InteractionFilter = {
  /** All of these. */
  and?: Array<InteractionFilter> | null | undefined;
  /** Channel. */
  channel?: StringFilter | null | undefined;
  /** Customer global id. */
  customerId?: IdFilter | null | undefined;
  /** Direction. */
  direction?: DirectionFilter | null | undefined;
  /** Id in the source. */
  externalId?: StringFilter | null | undefined;
  /** Interaction global id. */
  id?: IdFilter | null | undefined;
  /** Not this. */
  not?: InteractionFilter | null | undefined;
  /** When it happened. */
  occurredAt?: DateTimeFilter | null | undefined;
  /** Any of these. */
  or?: Array<InteractionFilter> | null | undefined;
  /** Source system. */
  source?: StringFilter | null | undefined;
  /** Type. */
  type?: StringFilter | null | undefined;
  /** Monetary value. */
  value?: FloatFilter | null | undefined;
};

/** One interaction to record. (source, externalId) makes it idempotent: sending it again changes nothing. */
export type InteractionInput = {
  /** Lower-case channel name: email, web, phone, support, payment, social, in_person, … */
  channel: string;
  /** ISO 4217 code, e.g. EUR. */
  currency?: string | null | undefined;
  /** Whose interaction: by id, or by identifiers (created when none matches). */
  customer: CustomerRefInput;
  /** Profile used if the customer is created. */
  customerProfile?: CustomerProfileInput | null | undefined;
  /** Inbound or outbound. */
  direction?: Direction | null | undefined;
  /** Id in the source (at most 256 characters). */
  externalId: string;
  /** When it happened; at most 5 minutes in the future. */
  occurredAt: string;
  /** Channel-specific details (a JSON object, at most 16 KiB). */
  properties?: unknown;
  /** From −1 to 1. */
  sentiment?: number | null | undefined;
  /** The delivering system (at most 128 characters). */
  source: string;
  /** Lower-case type: purchase, open, click, ticket_opened, call, … */
  type: string;
  /** Monetary value. */
  value?: number | null | undefined;
};

/** One ordering key; ties are broken by id. */
export type InteractionOrder = {
  /** Direction; ASC by default. */
  direction?: SortDirection | null | undefined;
  /** The key. */
  field: InteractionOrderField;
};

/** What interactions can be ordered by. */
export type InteractionOrderField =
  /** Order by created at. */
  | 'CREATED_AT'
  /** Order by id. */
  | 'ID'
  /** Order by occurred at. */
  | 'OCCURRED_AT'
  /** Order by value. */
  | 'VALUE';

/** Outcome of one row of a batch. */
export type RowStatus =
  /** Written. */
  | 'ACCEPTED'
  /** Already stored (same source and externalId); nothing changed. */
  | 'DUPLICATE'
  /** Not written; see errors. */
  | 'REJECTED';

/** Ordering direction. */
export type SortDirection =
  /** Smallest first. */
  | 'ASC'
  /** Largest first. */
  | 'DESC';

/** Conditions on a text field; all given conditions must hold. */
export type StringFilter = {
  /** Contains this text, case-insensitive. */
  contains?: string | null | undefined;
  /** Equal to. */
  eq?: string | null | undefined;
  /** One of these values (at most 1000). */
  in?: Array<string> | null | undefined;
  /** True: the field is empty; false: it has a value. */
  isNull?: boolean | null | undefined;
  /** Not equal to (NULL counts as different). */
  ne?: string | null | undefined;
  /** Starts with this text, case-sensitive. */
  startsWith?: string | null | undefined;
};

/** Conditions on one trait addressed by a dot path (`industry`, `address.city`); all given conditions must hold. */
export type TraitFilter = {
  /** Text containing this, case-insensitive. */
  contains?: string | null | undefined;
  /** Equal to this JSON value. */
  eq?: unknown;
  /** True: the trait is present; false: absent. */
  exists?: boolean | null | undefined;
  /** A number greater than. */
  gt?: number | null | undefined;
  /** A number greater than or equal to. */
  gte?: number | null | undefined;
  /** Equal to one of these JSON values. */
  in?: Array<unknown> | null | undefined;
  /** A number less than. */
  lt?: number | null | undefined;
  /** A number less than or equal to. */
  lte?: number | null | undefined;
  /** Not equal to this JSON value (missing counts as different). */
  ne?: unknown;
  /** Dot-separated path into traits. */
  path: string;
};

/** Outcome of one upserted row. */
export type UpsertStatus =
  /** A new customer was created. */
  | 'CREATED'
  /** Not written; see errors. */
  | 'REJECTED'
  /** An existing customer matched and was updated. */
  | 'UPDATED';

export type CustomerByIdentifierQueryVariables = Exact<{
  identifier: IdentifierInput;
}>;


export type CustomerByIdentifierQuery = { customer: { id: string, kind: CustomerKind, displayName: string | null, traits: unknown, lifecycleStage: string | null, owner: string | null, identifiers: Array<{ type: string, value: string }>, organization: { id: string, displayName: string | null } | null, members: { totalCount: number, edges: Array<{ node: { id: string, displayName: string | null } }> }, stats: { interactionCount: number, transactionCount: number, transactionValue: number, firstSeenAt: string | null, lastSeenAt: string | null, channels: unknown, updatedAt: string | null } } | null };

export type CustomerByIdQueryVariables = Exact<{
  id: string;
}>;


export type CustomerByIdQuery = { customer: { id: string, displayName: string | null } | null };

export type NodeByIdQueryVariables = Exact<{
  id: string;
}>;


export type NodeByIdQuery = { node:
    | { __typename: 'Customer', displayName: string | null, id: string }
    | { __typename: 'Interaction', channel: string, type: string, id: string }
   | null };

export type CustomersPageQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: CustomerFilter | null | undefined;
  orderBy?: Array<CustomerOrder> | CustomerOrder | null | undefined;
}>;


export type CustomersPageQuery = { customers: { totalCount: number, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: string, displayName: string | null, lifecycleStage: string | null, traits: unknown } }> } };

export type Customer360PageQueryVariables = Exact<{
  first?: number | null | undefined;
}>;


export type Customer360PageQuery = { customers: { edges: Array<{ node: { id: string, displayName: string | null, stats: { interactionCount: number, transactionValue: number, lastSeenAt: string | null }, identifiers: Array<{ type: string, value: string }>, interactions: { edges: Array<{ node: { id: string, channel: string, type: string, occurredAt: string, value: number | null } }> } } }> } };

export type RecordInteractionsMutationVariables = Exact<{
  input: Array<InteractionInput> | InteractionInput;
  mode?: BatchMode | null | undefined;
}>;


export type RecordInteractionsMutation = { recordInteractions: { committed: boolean, accepted: number, duplicates: number, rejected: number, results: Array<{ index: number, status: RowStatus, id: string | null, customerId: string | null, errors: Array<{ code: string, field: string | null, message: string }> }> } };

export type UpsertCustomersMutationVariables = Exact<{
  input: Array<CustomerInput> | CustomerInput;
  mode?: BatchMode | null | undefined;
}>;


export type UpsertCustomersMutation = { upsertCustomers: { committed: boolean, created: number, updated: number, rejected: number, results: Array<{ index: number, status: UpsertStatus, customer: { id: string, displayName: string | null, kind: CustomerKind, traits: unknown, organization: { id: string, displayName: string | null } | null, identifiers: Array<{ type: string, value: string }> } | null, errors: Array<{ code: string, field: string | null, message: string }> }> } };

export type InteractionsPageQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: InteractionFilter | null | undefined;
  orderBy?: Array<InteractionOrder> | InteractionOrder | null | undefined;
}>;


export type InteractionsPageQuery = { interactions: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, channel: string, type: string, occurredAt: string, value: number | null, currency: string | null, externalId: string, customer: { id: string } } }> } };

export type CustomerInteractionsQueryVariables = Exact<{
  identifier: IdentifierInput;
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: InteractionFilter | null | undefined;
}>;


export type CustomerInteractionsQuery = { customer: { id: string, interactions: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, channel: string, type: string, occurredAt: string, value: number | null, properties: unknown } }> } } | null };


export const CustomerByIdentifierDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerByIdentifier"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"identifier"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"IdentifierInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"identifier"},"value":{"kind":"Variable","name":{"kind":"Name","value":"identifier"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"traits"}},{"kind":"Field","name":{"kind":"Name","value":"lifecycleStage"}},{"kind":"Field","name":{"kind":"Name","value":"owner"}},{"kind":"Field","name":{"kind":"Name","value":"identifiers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"organization"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"members"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"interactionCount"}},{"kind":"Field","name":{"kind":"Name","value":"transactionCount"}},{"kind":"Field","name":{"kind":"Name","value":"transactionValue"}},{"kind":"Field","name":{"kind":"Name","value":"firstSeenAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastSeenAt"}},{"kind":"Field","name":{"kind":"Name","value":"channels"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]}}]} as unknown as DocumentNode<CustomerByIdentifierQuery, CustomerByIdentifierQueryVariables>;
export const CustomerByIdDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerById"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}}]}}]} as unknown as DocumentNode<CustomerByIdQuery, CustomerByIdQueryVariables>;
export const NodeByIdDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"NodeById"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Customer"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Interaction"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"type"}}]}}]}}]}}]} as unknown as DocumentNode<NodeByIdQuery, NodeByIdQueryVariables>;
export const CustomersPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomersPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"CustomerFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CustomerOrder"}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"hasPreviousPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"lifecycleStage"}},{"kind":"Field","name":{"kind":"Name","value":"traits"}}]}}]}}]}}]}}]} as unknown as DocumentNode<CustomersPageQuery, CustomersPageQueryVariables>;
export const Customer360PageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Customer360Page"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"ListValue","values":[{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"field"},"value":{"kind":"EnumValue","value":"ID"}},{"kind":"ObjectField","name":{"kind":"Name","value":"direction"},"value":{"kind":"EnumValue","value":"ASC"}}]}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"interactionCount"}},{"kind":"Field","name":{"kind":"Name","value":"transactionValue"}},{"kind":"Field","name":{"kind":"Name","value":"lastSeenAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"identifiers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"interactions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"5"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}}]}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<Customer360PageQuery, Customer360PageQueryVariables>;
export const RecordInteractionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RecordInteractions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"InteractionInput"}}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"mode"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"BatchMode"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recordInteractions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}},{"kind":"Argument","name":{"kind":"Name","value":"mode"},"value":{"kind":"Variable","name":{"kind":"Name","value":"mode"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"committed"}},{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"duplicates"}},{"kind":"Field","name":{"kind":"Name","value":"rejected"}},{"kind":"Field","name":{"kind":"Name","value":"results"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"customerId"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]}}]} as unknown as DocumentNode<RecordInteractionsMutation, RecordInteractionsMutationVariables>;
export const UpsertCustomersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpsertCustomers"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CustomerInput"}}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"mode"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"BatchMode"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"upsertCustomers"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}},{"kind":"Argument","name":{"kind":"Name","value":"mode"},"value":{"kind":"Variable","name":{"kind":"Name","value":"mode"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"committed"}},{"kind":"Field","name":{"kind":"Name","value":"created"}},{"kind":"Field","name":{"kind":"Name","value":"updated"}},{"kind":"Field","name":{"kind":"Name","value":"rejected"}},{"kind":"Field","name":{"kind":"Name","value":"results"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"traits"}},{"kind":"Field","name":{"kind":"Name","value":"organization"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"displayName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"identifiers"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]}}]} as unknown as DocumentNode<UpsertCustomersMutation, UpsertCustomersMutationVariables>;
export const InteractionsPageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"InteractionsPage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"InteractionFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"InteractionOrder"}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"interactions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"currency"}},{"kind":"Field","name":{"kind":"Name","value":"externalId"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<InteractionsPageQuery, InteractionsPageQueryVariables>;
export const CustomerInteractionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"CustomerInteractions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"identifier"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"IdentifierInput"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"InteractionFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"customer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"identifier"},"value":{"kind":"Variable","name":{"kind":"Name","value":"identifier"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"interactions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"properties"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<CustomerInteractionsQuery, CustomerInteractionsQueryVariables>;