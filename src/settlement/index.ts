/** Settlement on an EVM chain: contracts, deployment, local chain. Public surface of src/settlement. */
export { anvilBinary, startAnvil, type Anvil, type AnvilOptions } from './anvil.ts'
export { sinewDevTokenAbi, sinewDevTokenBytecode, sinewSettlementAbi, sinewSettlementBytecode } from './contracts.ts'
export { chainAt, deploySettlement, type DeployOptions, type SettlementDeployment } from './deploy.ts'
