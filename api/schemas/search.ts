import { Type } from 'typebox';
import { Phone } from '#services/fields.js';
import { AlertSummarySchema } from './alerts.js';
import { withExample } from './common.js';
import { StopPaymentSummarySchema } from './stop-payments.js';

export const SearchQuery = Type.Object(
  {
    phone: Type.Optional(Phone),
    account: Type.Optional(Type.String({ pattern: '^[0-9]{6,32}$', description: 'a receiving bank account' })),
  },
  { additionalProperties: false },
);

export const SearchAnswerSchema = withExample(
  Type.Object(
    {
      alerts: Type.Array(AlertSummarySchema, { description: 'newest first; empty for an account search' }),
      stopPayments: Type.Array(StopPaymentSummarySchema, { description: 'newest first, the ones the caller may read' }),
      account: Type.Optional(
        Type.Object({
          account: Type.String(),
          cases: Type.Integer({ description: 'every case that sent money to it or holds it, readable or not' }),
          stopsMade: Type.Integer({
            description: 'stops the banks have made on it (a bank takes a repeated stop at most twice)',
          }),
        }),
      ),
    },
    { description: 'What this center knows of the phone or the account' },
  ),
  {
    alerts: [],
    stopPayments: [],
    account: { account: '6222020200112233445', cases: 2, stopsMade: 1 },
  },
);
