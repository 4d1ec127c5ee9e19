/** `Transfer {to, amount, nonce}`: moves SIN base units from the signer to `to`. */
import { SinewError } from '../core/index.ts'
import { credit, debit } from './accounts.ts'
import { defineTxKind, type TxMessage } from './kinds.ts'

export const transferKind = defineTxKind({
  type: 'Transfer',
  description: 'Move `amount` base units (18 decimals) of SIN from the signer to `to`.',
  fields: [
    { name: 'to', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
  validate(message) {
    if (message.amount === 0n) {
      throw new SinewError({ code: 'invalid_field', message: 'message.amount must be above zero', details: { field: 'message.amount', got: '0' } })
    }
  },
  execute(ctx, message) {
    debit(ctx.state, ctx.sender, message.amount)
    credit(ctx.state, message.to, message.amount)
    return { from: ctx.sender, to: message.to, amount: message.amount }
  },
})

export type TransferMessage = TxMessage<typeof transferKind>
