/**
 * Every error code Sinew gives, once, with the HTTP status it answers and what it means.
 * `SinewError`'s `code` is typed from this list and its `status` read from it, so a code
 * means one thing with one status everywhere; `GET /v1/errors` publishes it.
 *
 * How a status is chosen:
 * - 400: the request is malformed (a field missing, extra, ill-typed or out of range; bad
 *   JSON; a bad signature), whatever the ledger holds.
 * - 401: no valid credentials (the OpenAI-compatible API's keys, a blob upload's permit).
 * - 403: valid or no credentials, but this node's policy refuses the request (a Host or
 *   Origin it does not serve, a backend outside its allow-list, an uploader below its
 *   minimum balance).
 * - 404: the request names something that does not exist, whether it reads it (GET) or a
 *   tx refers to it (as Stripe's `resource_missing`): every `*_not_found` code.
 * - 409: it clashes with something already there or still under way (a replayed tx, a
 *   data dir in use, an index being built).
 * - 422: a well-formed tx (or call) that the ledger state refuses: nonce, balance, rights,
 *   deadlines. The OpenAI-compatible API answers these 402, as OpenAI answers an exhausted
 *   quota (src/server/routes/openai.ts).
 * - 429: a limit or quota of this node is used up for now (API-key failures, calls in
 *   flight, blob uploads): retry later (Retry-After, or details say when).
 * - 5xx: the node's fault or a dependency's (store, model backend, another node).
 *
 * Add a code here before throwing it; the SinewError constructor refuses codes not here.
 */

export type ErrorCatalogueEntry = { status: number; meaning: string }

export const errorCatalogue = {
  // Input of any kind: fields, values, files
  invalid_input: { status: 400, meaning: 'A value is malformed; details say which and why.' },
  invalid_field: { status: 400, meaning: 'A field has the wrong type, format or range; details.field names it.' },
  missing_field: { status: 400, meaning: 'A required field is missing; details.field names it.' },
  unknown_field: { status: 400, meaning: 'A field is not part of this message or body; details.field names it.' },
  malformed_json: { status: 400, meaning: 'The body (or file) is not valid JSON.' },
  invalid_address: { status: 400, meaning: 'Not an address (0x and 40 hex digits), or a bad EIP-55 checksum.' },
  invalid_hash: { status: 400, meaning: 'A hash is not 32 bytes.' },
  invalid_digest: { status: 400, meaning: 'A digest to sign or recover from is not 32 bytes.' },
  invalid_private_key: { status: 400, meaning: 'A private key is not 0x and 64 hex digits, or is out of the curve range.' },
  not_found: { status: 404, meaning: 'The named thing (a tx, block, receipt, key, blob, index…) does not exist; details name it.' },
  file_not_found: { status: 404, meaning: 'A file given on the command line does not exist.' },
  file_unreadable: { status: 400, meaning: 'A file given on the command line cannot be read.' },

  // HTTP: the request itself, before any route reads it
  bad_request: { status: 400, meaning: 'The HTTP layer refused the request (a bad URL or header); details.reason says why.' },
  body_too_large: { status: 413, meaning: "The request body is over the node's limit (bodyLimitBytes)." },
  headers_too_large: {
    status: 431,
    meaning: 'The request line and headers together are over the HTTP server limit (16 KiB): send a shorter URL or smaller headers.',
  },
  request_timeout: { status: 408, meaning: 'The request (its headers or body) did not arrive in time; the connection is closed.' },
  path_param_too_long: { status: 414, meaning: 'A path parameter is over 100 characters: no id, address, hash or name this node serves is that long.' },
  unsupported_content_type: { status: 415, meaning: 'The route reads JSON: send Content-Type: application/json.' },
  json_too_deep: { status: 400, meaning: 'The JSON body nests deeper than 64 levels; no request to this node needs that.' },
  forbidden_json_key: { status: 400, meaning: 'The JSON body holds a __proto__ (or constructor.prototype) key, refused as prototype pollution.' },
  host_not_allowed: { status: 403, meaning: 'The Host header is not localhost, an IP, the bound host or in allowedHosts (DNS-rebinding guard).' },
  origin_not_allowed: { status: 403, meaning: "The Origin header is not the node's own and not in allowedOrigins." },
  route_not_found: { status: 404, meaning: 'No route has this method and path; GET /openapi.json lists them.' },
  range_not_satisfiable: { status: 416, meaning: 'The Range header does not fit the blob.' },
  feature_unavailable: { status: 501, meaning: 'This node does not run the module a tool needs.' },
  signer_required: { status: 400, meaning: 'This MCP server signs for nobody: pass a tx you signed as signedTx.' },
  internal: { status: 500, meaning: 'An unexpected failure inside the node.' },

  // Ledger: tx envelopes, signatures, nonces, balances, blocks
  invalid_envelope: { status: 400, meaning: 'A tx is not an object {type, message, signature}.' },
  unknown_tx_type: { status: 400, meaning: 'The tx type is not a kind this node accepts; GET /v1/types lists them.' },
  invalid_typed_data: { status: 400, meaning: 'EIP-712 types or a message do not fit the EIP-712 rules.' },
  invalid_signature: { status: 400, meaning: 'A signature is malformed or recovers no key; details.reason says which rule it broke.' },
  signer_mismatch: { status: 400, meaning: 'The signature recovers to another address than the given from.' },
  wrong_chain_id: { status: 400, meaning: 'The tx was signed for another chain.' },
  nonce_too_low: { status: 422, meaning: 'The nonce was already used by this sender.' },
  nonce_too_high: { status: 422, meaning: "The nonce skips ahead of the sender's next nonce." },
  insufficient_balance: { status: 422, meaning: "The account's balance does not cover the amount, stake or fee." },
  balance_overflow: { status: 422, meaning: 'Crediting the account would overflow uint256.' },
  delegation_not_found: { status: 404, meaning: 'A session-key tx names a delegator that never delegated to its signer.' },
  delegation_revoked: { status: 422, meaning: "The delegator revoked the session key's grant (RevokeDelegate)." },
  delegation_expired: { status: 422, meaning: "The session key's grant is past its expiry (or a Delegate's expiry is not in the future)." },
  delegation_out_of_scope: { status: 422, meaning: "The session key's grant does not cover this tx kind." },
  delegation_cap_exceeded: { status: 422, meaning: "The tx would spend more of the delegator's balance than the grant's total or daily cap allows." },
  delegation_self: { status: 422, meaning: 'An account cannot delegate to itself, nor name itself as delegator.' },
  delegation_chain: { status: 422, meaning: 'Delegation is one level: a session key cannot delegate, and a delegating account cannot be a session key.' },
  payment_signature_invalid: { status: 402, meaning: 'An x402 payment authorisation is not signed by its payer (or its signature is malformed).' },
  payment_wrong_network: { status: 402, meaning: 'An x402 payment authorisation is for another network than this chain (sinew:<chainId>).' },
  payment_not_yet_valid: { status: 402, meaning: "An x402 payment authorisation's validAfter is still ahead." },
  payment_expired: { status: 402, meaning: "An x402 payment authorisation's validBefore has passed." },
  payment_over_authorised: { status: 402, meaning: 'The charge, or the price of the call, is over the maximum the payer authorised.' },
  payment_nonce_used: { status: 402, meaning: "An x402 payment authorisation's nonce was settled already: a replay." },
  payment_required: {
    status: 402,
    meaning: 'The call needs payment: no API key was sent and this node takes x402 payments (the PAYMENT-REQUIRED header says what it accepts).',
  },
  payment_header_invalid: { status: 402, meaning: 'The PAYMENT-SIGNATURE header (or MCP _meta x402/payment) is not base64 of a JSON x402 payment payload.' },
  payment_payload_invalid: {
    status: 402,
    meaning: 'The x402 payment payload is JSON but not a version 2 payload of an accepted scheme (details name the field).',
  },
  payment_scheme_unsupported: { status: 402, meaning: 'The x402 payment is for a scheme or network this node does not accept for this call.' },
  payment_wrong_resource: { status: 402, meaning: 'The x402 payment authorisation is for another resource than the one called.' },
  payment_wrong_asset: { status: 402, meaning: 'The x402 `exact` payment is for another asset than the settlement token this node takes.' },
  payment_wrong_amount: { status: 402, meaning: 'The x402 `exact` authorisation transfers another value than the `amount` asked (exact means exact).' },
  payment_wrong_payee: { status: 402, meaning: 'The x402 payment authorisation pays another account than the one this call pays.' },
  payment_insufficient: { status: 402, meaning: 'The x402 payment authorises less than the price of the call (its most it may cost).' },
  payment_insufficient_funds: { status: 402, meaning: "The x402 payer's balance does not cover the price of the call." },
  payment_settlement_failed: {
    status: 402,
    meaning:
      'The x402 `exact` payment could not be settled on the EVM chain (unreachable, refused or reverted; details.step says where): nothing was transferred or charged.',
  },
  tx_duplicate: { status: 409, meaning: 'The same tx appears twice in one batch.' },
  tx_pending: { status: 409, meaning: 'The same tx is already waiting for a block.' },
  tx_already_included: { status: 409, meaning: 'The tx is already in a block; a signed tx counts once.' },
  tx_failed: { status: 500, meaning: 'A tx handler failed unexpectedly; the tx changed nothing.' },
  read_only: { status: 405, meaning: 'This node is a read-only replica: send txs to its sequencer.' },
  shutting_down: { status: 503, meaning: 'The node is shutting down and takes no more txs.' },
  commit_failed: {
    status: 503,
    meaning: 'The block could not be committed for a reason other than a full or unwritable disk (a failed fsync, damage): the node stops.',
  },
  submit_failed: { status: 503, meaning: 'The node could not submit the tx it signs itself (a receipt, say).' },
  block_mismatch: { status: 409, meaning: 'A block or stored row differs from what re-execution gives; details name block and field.' },
  integrity: { status: 500, meaning: 'Stored data does not match what it must be (tampering or damage).' },
  invalid_index: { status: 400, meaning: 'A Merkle list index is not an integer in range.' },
  invalid_state_entry: { status: 400, meaning: 'A state entry is not a [keyHash, valueHash | null] pair.' },
  invalid_state_proof: { status: 400, meaning: 'A state proof is malformed; see docs/state-proofs.md.' },
  invalid_proof: { status: 400, meaning: 'A proof bundle is not {key, value, proof, header}.' },
  proof_height_unavailable: {
    status: 404,
    meaning: 'No state proof at that height: above the head or older than the state history this node keeps; details give the range it serves.',
  },

  // Chain setup: genesis, node key, key files
  invalid_genesis: { status: 400, meaning: 'A genesis is malformed; details.field names the part.' },
  genesis_mismatch: { status: 400, meaning: 'A genesis differs from the one this chain was made with.' },
  no_genesis: { status: 400, meaning: 'The store is empty and no genesis was given: run `sinew init`.' },
  already_initialised: { status: 400, meaning: 'The data dir already has a genesis or a chain.' },
  not_initialised: { status: 400, meaning: 'The data dir has no genesis: run `sinew init`.' },
  not_dev: { status: 400, meaning: '`sinew dev` was pointed at a chain that is not a dev chain.' },
  removed_setting: { status: 400, meaning: 'A setting this node no longer reads is set (SINEW_BACKEND_KEY…): the message names what replaced it.' },
  no_node_key: { status: 400, meaning: 'The data dir has no node key.' },
  wrong_node_key: { status: 400, meaning: "The node key is not this chain's sequencer." },
  invalid_keystore: { status: 400, meaning: 'A key file is not a valid v3 keystore, or holds another address.' },
  invalid_password: { status: 400, meaning: 'A password is not a string.' },
  wrong_password: { status: 400, meaning: 'The password does not open the key file.' },
  password_required: { status: 400, meaning: 'A password is needed and none was given.' },
  password_mismatch: { status: 400, meaning: 'The repeated password differs.' },
  key_exists: { status: 409, meaning: 'A key file for this address exists already.' },

  // Store and process
  store_unavailable: { status: 503, meaning: 'The store cannot be opened.' },
  store_read_only: { status: 503, meaning: 'The store was opened read-only and cannot write.' },
  store_unreachable: {
    status: 503,
    meaning:
      'The PostgreSQL store does not answer: the write was refused and nothing of it kept; reads of what the node holds go on, and writes resume once it answers (Retry-After).',
  },
  store_permission_denied: {
    status: 503,
    meaning: "The store URL's user may not create or write Sinew's tables; details name the URL (without its password).",
  },
  sequencer_lease_held: {
    status: 409,
    meaning: 'Another node holds the sequencer lease on this database; details name it (holder, url, term). Start this one with --failover to stand by.',
  },
  sequencer_fenced: {
    status: 503,
    meaning:
      'This node lost the sequencer lease (a newer term holds it): the block was not committed and nothing of it kept; retry (Retry-After), the write goes to the new sequencer.',
  },
  sequencer_unavailable: {
    status: 503,
    meaning: 'No node can be reached as the sequencer right now (a failover under way, or its URL unreachable): retry (Retry-After).',
  },
  store_not_empty: { status: 409, meaning: '`sinew store copy` refuses a target that already holds a chain, blobs or settings.' },
  storage_full: {
    status: 507,
    meaning: "The node's disk is full: the write was refused and nothing of it kept; reads still work, and writes resume once the operator frees space.",
  },
  storage_unwritable: {
    status: 503,
    meaning: 'The node cannot write to its data dir (read-only, or failing writes): the write was refused and nothing of it kept; reads still work.',
  },
  data_dir_in_use: { status: 409, meaning: 'Another node runs on this data dir.' },
  port_in_use: { status: 503, meaning: 'Another process listens on the port.' },
  cannot_listen: { status: 503, meaning: 'The node cannot listen on this host and port.' },

  // Datanets, contributions, blobs
  datanet_not_found: { status: 404, meaning: 'No Datanet has this id or name.' },
  datanet_name_taken: { status: 422, meaning: 'A Datanet with this name exists already.' },
  not_owner: { status: 422, meaning: "Only the Datanet's owner may do this." },
  already_curator: { status: 422, meaning: 'The address is a curator of this Datanet already.' },
  not_curator: { status: 422, meaning: 'The address is neither the owner nor a curator of this Datanet.' },
  too_many_curators: { status: 422, meaning: 'The Datanet has its maximum number of curators.' },
  media_type_not_accepted: { status: 422, meaning: "The Datanet's rules do not accept this media type." },
  too_large: { status: 422, meaning: "The contribution is over the Datanet's size limit." },
  max_size_over_blob_limit: { status: 400, meaning: "A Datanet's maxSize is over this node's blob limit (maxBlobBytes)." },
  duplicate_contribution: { status: 422, meaning: 'The Datanet has this content already; details name the earlier contribution.' },
  contribution_not_found: { status: 404, meaning: 'No contribution has this id.' },
  already_reviewed: { status: 422, meaning: 'The contribution has its verdict already; it is final.' },
  not_accepted: { status: 422, meaning: 'Only an accepted contribution can be excluded; details.status says what it is.' },
  already_excluded: { status: 422, meaning: 'The contribution is excluded already; details name the height and reason.' },
  no_accepted_contributions: { status: 422, meaning: 'There is no accepted contribution to publish.' },
  version_unchanged: { status: 422, meaning: 'The latest version already holds every accepted contribution.' },
  version_not_found: { status: 404, meaning: 'The Datanet has no such version.' },
  no_version: { status: 400, meaning: 'The Datanet has no published version yet.' },
  invalid_version_ref: { status: 400, meaning: 'Not a Datanet version ref (<datanet id or name>@<version>).' },
  index_not_ready: { status: 409, meaning: "The version's attribution index is still being built (or failed)." },
  index_mismatch: {
    status: 409,
    meaning: "A replica's index of a version differs from the leader's (build id): the nodes read some contribution differently.",
  },
  missing_blob: { status: 503, meaning: 'An index build lacks the blobs of some contributions on this node (a replica waits for them).' },
  build_failed: { status: 500, meaning: 'An index build failed unexpectedly; details.reason gives the system error code.' },
  no_documents: { status: 422, meaning: 'Every contribution of the version was skipped (wrong size, not ingesting): the index would be empty.' },
  blob_not_found: { status: 404, meaning: 'This node has no blob with this sha256: upload it first.' },
  blob_too_large: { status: 413, meaning: "The blob is over the node's blob size limit." },
  empty_blob: { status: 400, meaning: 'The blob is empty.' },
  hash_mismatch: { status: 400, meaning: 'The bytes hash to another sha256 than the declared one.' },
  size_mismatch: { status: 400, meaning: "The declared size differs from the blob's." },
  unsupported_media_type: { status: 400, meaning: 'Sinew does not ingest this media type.' },
  unparseable_content: { status: 400, meaning: 'The content is not valid for its declared media type.' },
  ingest_timeout: { status: 503, meaning: 'Reading a PDF or DOCX took longer than this node allows; a retry (or a faster node) may finish.' },
  ingest_failed: { status: 503, meaning: 'The PDF/DOCX extraction worker ran out of memory or crashed on this node; it is restarted for the next file.' },
  blob_fetch_failed: { status: 502, meaning: 'Fetching a blob from another node failed.' },
  upload_unauthorized: { status: 401, meaning: 'PUT /v1/blobs needs the signed tx that will refer to the blob, base64 JSON in the x-sinew-upload-tx header.' },
  invalid_upload_permit: { status: 401, meaning: 'The upload permit is not a validly signed tx naming a blob, or its nonce is too far ahead.' },
  stale_upload_permit: { status: 401, meaning: "The upload permit's nonce is used by another tx: sign a new one." },
  upload_balance_too_low: { status: 403, meaning: "The permit's sender holds less than blobMinBalance (nothing is spent: it only has to be there)." },
  permit_mismatch: { status: 400, meaning: 'The ?sha256= of the upload differs from the blob the permit names.' },
  blob_quota_exceeded: {
    status: 429,
    meaning:
      "An upload is over a quota: the account's bytes or blobs per window, what its held balance backs of blobs waiting for a tx, or the node's room for waiting blobs; details.quota says which.",
  },

  // Attribution indexes and corpora
  index_corrupt: { status: 500, meaning: 'An index on disk is damaged: rebuild it.' },
  index_version_unsupported: { status: 500, meaning: 'An index on disk has a format version this node cannot read.' },
  index_tokenizer_unsupported: { status: 500, meaning: 'An index on disk was built with another tokenizer.' },
  corpus_not_found: { status: 404, meaning: 'The corpus path does not exist.' },
  empty_corpus: { status: 400, meaning: 'The corpus has no documents or no tokens.' },
  invalid_utf8: { status: 400, meaning: 'The corpus is not valid UTF-8.' },
  invalid_jsonl: { status: 400, meaning: 'A corpus line is not a JSON object.' },
  missing_document_id: { status: 400, meaning: 'A corpus document has no id.' },
  missing_document_text: { status: 400, meaning: 'A corpus document has no text.' },
  duplicate_document_id: { status: 400, meaning: 'Two corpus documents have the same id.' },

  // Models, API keys, receipts
  model_not_found: { status: 404, meaning: 'No (active) model has this name or version.' },
  model_exists: { status: 422, meaning: 'A model with this name is registered already.' },
  not_model_owner: { status: 422, meaning: "Only the model's owner may update it." },
  datanet_version_not_found: { status: 404, meaning: 'A model names a Datanet version that is not published.' },
  apikey_not_found: { status: 404, meaning: 'No API key has this hash.' },
  apikey_exists: { status: 422, meaning: 'An API key with this hash is registered already.' },
  apikey_expired: { status: 422, meaning: "The API key's expiry has passed." },
  apikey_revoked: { status: 422, meaning: 'The API key is revoked.' },
  not_apikey_owner: { status: 422, meaning: "Only the key's owner may revoke or update it, or read its usage." },
  budget_exhausted: {
    status: 422,
    meaning: "The API key's budget for this UTC day, week or month does not cover the fee (details name the window and when it resets).",
  },
  spend_limit_reached: { status: 422, meaning: "The API key's spend limit does not cover the fee." },
  not_sequencer: { status: 422, meaning: 'Only the sequencer key may sign this kind (receipts, deposits, payment settlements).' },
  receipt_exists: { status: 422, meaning: 'A receipt with this id is recorded already.' },
  receipt_authorization_stale: {
    status: 422,
    meaning: "A receipt's authorizedHeight/authorizedAt is not before its block, or is more than MAX_RECEIPT_DELAY_MS (6 h) older.",
  },
  author_mismatch: { status: 422, meaning: 'A receipt names another author for a contribution than the ledger.' },
  receipt_failed: { status: 500, meaning: 'The answer was delivered but its receipt could not be recorded.' },

  // Gateway: the OpenAI-compatible API
  missing_api_key: { status: 401, meaning: 'No API key: send Authorization: Bearer <key>.' },
  invalid_api_key: { status: 401, meaning: "No GrantApiKey on the ledger has this key's hash." },
  revoked_api_key: { status: 401, meaning: 'The API key is revoked.' },
  expired_api_key: { status: 401, meaning: 'The API key has expired.' },
  missing_required_parameter: { status: 400, meaning: 'A required request parameter is missing; param names it.' },
  invalid_value: { status: 400, meaning: 'A request parameter has an invalid value; param names it.' },
  context_length_exceeded: { status: 400, meaning: 'The prompt is longer than the model takes on this node (maxPromptTokens; GET /v1/models shows it).' },
  model_not_ready: { status: 503, meaning: "The model's Datanet index is still being built: retry (Retry-After)." },
  backend_unavailable: { status: 502, meaning: 'The model backend (or its index) cannot be reached.' },
  backend_error: { status: 502, meaning: 'The model backend failed or answered an error.' },
  backend_timeout: { status: 504, meaning: 'The model backend was silent for too long.' },
  leader_unavailable: { status: 502, meaning: 'A replica cannot reach the leader it passes model calls to.' },
  writer_unavailable: { status: 503, meaning: "A serving worker cannot reach its node's writer process (restarting or stopping): retry shortly." },
  internal_only: { status: 403, meaning: "The writer's internal port serves only the node's own worker processes." },
  backend_not_allowed: { status: 403, meaning: "The model's backend is outside this node's backend allow-list (backendAllowList); nothing was sent." },
  backend_credential_missing: {
    status: 403,
    meaning: "The operator's backend key for the model's origin is bound to other accounts' models (backendCredentials owners): nothing was sent.",
  },
  too_many_auth_failures: { status: 429, meaning: 'This client failed API-key authentication too often (apiKeyFailuresPerMinute): retry after Retry-After.' },
  too_many_concurrent_calls: { status: 429, meaning: 'This API key has maxConcurrentCallsPerKey calls in flight: retry when one ends.' },
  rate_limit_exceeded: {
    status: 429,
    meaning: "The API key's requests or tokens per minute are used up: retry after Retry-After (x-ratelimit-* headers say more).",
  },
  apikey_not_yours: { status: 403, meaning: 'GET /v1/usage named a key of another account: usage is shown to its owner only.' },
  model_not_allowed: { status: 403, meaning: "The API key's owner did not allow it to call this model (UpdateApiKey models)." },
  unsupported_tools: { status: 400, meaning: 'The model answers text only: it cannot take tools or function calls.' },
  client_closed_request: { status: 499, meaning: 'The client left before a non-streamed answer was ready: nothing was charged.' },

  // Agents and tasks
  agent_not_found: { status: 404, meaning: 'The sender is not a registered agent.' },
  agent_exists: { status: 422, meaning: 'The sender is registered already: use UpdateAgent.' },
  task_not_found: { status: 404, meaning: 'No task has this id.' },
  task_closed: { status: 422, meaning: 'The task is accepted, cancelled or expired.' },
  task_claimed: { status: 422, meaning: 'Another agent holds the claim on the task.' },
  task_pending_verification: { status: 422, meaning: 'The task has a result waiting for its verifiers.' },
  task_deadline_passed: { status: 422, meaning: "The task's deadline has passed." },
  deadline_passed: { status: 422, meaning: 'The deadline given is not after the block time.' },
  deadline_not_reached: { status: 422, meaning: 'The task is open until its deadline.' },
  poster_cannot_claim: { status: 422, meaning: 'The poster cannot claim their own task.' },
  stake_too_low: { status: 422, meaning: "The claim stake is below the task's minimum." },
  not_claimer: { status: 422, meaning: 'The sender does not hold the claim on the task.' },
  lease_expired: { status: 422, meaning: "The claim's lease has ended." },
  already_submitted: { status: 422, meaning: 'The task has a result waiting for its verifiers already.' },
  no_pending_submission: { status: 422, meaning: 'The task has no result waiting for a verdict.' },
  not_verifier: { status: 422, meaning: 'The sender is not a verifier of the task.' },
  already_voted: { status: 422, meaning: 'The sender gave a verdict on this result already.' },
  not_poster: { status: 422, meaning: "Only the task's poster may do this." },
  review_window_open: { status: 422, meaning: 'The verifiers still have time to judge the result.' },

  // Settlement: EVM chain, contracts
  deposit_already_credited: { status: 422, meaning: 'This EVM deposit log (chain id, tx hash, log index) is credited on Sinew already.' },
  settlement_not_configured: { status: 404, meaning: 'This node has no settlement contract configured (settlementRpcUrl, settlementContract).' },
  withdrawal_not_found: { status: 404, meaning: 'No Withdraw tx recorded this withdrawal id on Sinew.' },
  withdrawal_not_checkpointed: { status: 409, meaning: 'No checkpoint posted to the settlement contract covers this withdrawal yet.' },
  evm_tx_reverted: { status: 422, meaning: 'The EVM transaction reverted; details name the contract error.' },
  evm_rpc_unavailable: { status: 503, meaning: 'The EVM JSON-RPC endpoint does not answer; details name it.' },
  anvil_unavailable: { status: 503, meaning: 'The local anvil chain (npm @foundry-rs/anvil) cannot be found or started.' },
  settlement_deploy_failed: { status: 502, meaning: 'A settlement deploy transaction reverted on the EVM chain; details name the tx.' },
  settlement_contract_missing: { status: 404, meaning: 'No SinewSettlement contract answers at the named address on this EVM chain.' },
  insufficient_token_balance: { status: 422, meaning: 'The EVM account holds less of the settlement token than the amount to deposit.' },
  dev_key_on_live_chain: { status: 400, meaning: 'An INSECURE dev key (--dev-account) was named for an EVM chain that is not a local dev chain.' },
  settlement_token_unsuitable: { status: 400, meaning: 'The named settlement token is not an ERC-20 with 18 decimals.' },

  // Command line: talking to a node
  node_unreachable: { status: 503, meaning: 'The node at --node cannot be reached.' },
  bad_response: { status: 502, meaning: 'The node answered something that is not JSON.' },
} as const satisfies Record<string, ErrorCatalogueEntry>

export type ErrorCode = keyof typeof errorCatalogue

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCatalogue, code)
}

/** The catalogue as served by GET /v1/errors: one entry per code, sorted by code. */
export function errorCatalogueList(): { code: ErrorCode; status: number; meaning: string }[] {
  return (Object.keys(errorCatalogue) as ErrorCode[]).sort().map((code) => ({ code, ...errorCatalogue[code] }))
}
