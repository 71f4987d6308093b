import { Type } from 'typebox';
import { ROLES } from '#domain/roles.js';
import { ClientId, withExample } from './common.js';

export const RoleSchema = Type.Enum([...ROLES]);

const userExample = { userId: 'wang.jie', name: '王接线员', roles: ['operator' as const], stationId: null };

export const UserSchema = withExample(
  Type.Object(
    {
      userId: Type.String(),
      name: Type.String(),
      roles: Type.Array(RoleSchema),
      stationId: Type.Union([Type.String(), Type.Null()]),
    },
    { description: 'A user: name, roles and station' },
  ),
  userExample,
);

export const NewUserSchema = withExample(
  Type.Object(
    {
      userId: Type.Optional(
        Type.String({
          pattern: '^[a-z][a-z0-9._-]{2,31}$',
          description: 'the sign-in name (3-32 lower-case letters, digits, . _ -); generated when absent',
        }),
      ),
      name: Type.String({ minLength: 1, maxLength: 100 }),
      roles: Type.Array(RoleSchema, { minItems: 1, maxItems: ROLES.length, uniqueItems: true }),
      stationId: Type.Optional(ClientId),
    },
    { additionalProperties: false },
  ),
  { userId: 'wang.jie', name: '王接线员', roles: ['operator'] },
);

export const NewTokenSchema = withExample(
  Type.Object({ label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }),
  { label: 'platform push client' },
);

export const IssuedTokenSchema = withExample(
  Type.Object(
    {
      tokenId: Type.String(),
      token: Type.String({ description: 'shown only in this answer; stored hashed' }),
    },
    { description: 'The new token (shown only in this answer)' },
  ),
  { tokenId: 'tok_Qm3Zr8XvT1pK', token: 'fz_4q7N2xVb9kR1mT6yH3sL8pW5cJ0dGa2Ee9Uu1Ii7Oo3Yy' },
);

const UserId = Type.String({ minLength: 1, maxLength: 64, examples: ['wang.jie'] });
export const UserIdParams = Type.Object({ userId: UserId });
export const TokenParams = Type.Object({
  userId: UserId,
  tokenId: Type.String({ minLength: 1, maxLength: 64, examples: ['tok_Qm3Zr8XvT1pK'] }),
});

export const EnrollmentSchema = withExample(
  Type.Object(
    {
      url: Type.String({ description: 'one-time link to set the password; shown only in this answer' }),
      expiresAt: Type.String(),
    },
    { description: 'The one-time enrollment link' },
  ),
  { url: 'https://fanzha.example/enroll/Xr4m9QpL2vN7sK1tB8wY', expiresAt: '2026-11-29T09:00:00.000Z' },
);

export const StaffSchema = withExample(
  Type.Object({
    ...UserSchema.properties,
    disabledAt: Type.Union([Type.String(), Type.Null()], { description: 'set while the user is disabled' }),
    disabledBy: Type.Union([Type.String(), Type.Null()]),
    passwordSetAt: Type.Union([Type.String(), Type.Null()], { description: 'null until the user enrolls' }),
    tokens: Type.Array(
      Type.Object({
        tokenId: Type.String(),
        label: Type.Union([Type.String(), Type.Null()]),
        createdAt: Type.String(),
        revokedAt: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  }),
  {
    ...userExample,
    disabledAt: null,
    disabledBy: null,
    passwordSetAt: '2026-11-20T08:31:02.000Z',
    tokens: [{ tokenId: 'tok_Qm3Zr8XvT1pK', label: null, createdAt: '2026-11-20T08:30:00.000Z', revokedAt: null }],
  },
);

export const UserChangeSchema = withExample(
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      roles: Type.Optional(Type.Array(RoleSchema, { minItems: 1, maxItems: ROLES.length, uniqueItems: true })),
      stationId: Type.Optional(Type.Union([ClientId, Type.Null()])),
      disabled: Type.Optional(
        Type.Boolean({ description: 'true: every session ends at once and tokens and password stop working' }),
      ),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  { roles: ['operator', 'supervisor'] },
);

export const NewEnrollmentSchema = withExample(
  Type.Object(
    {
      resetPassword: Type.Optional(
        Type.Boolean({ description: 'the old password stops working and every session ends at once' }),
      ),
    },
    { additionalProperties: false },
  ),
  { resetPassword: true },
);

export const TokenListSchema = withExample(
  Type.Object(
    {
      items: Type.Array(
        Type.Object({
          tokenId: Type.String(),
          label: Type.Union([Type.String(), Type.Null()]),
          createdAt: Type.String(),
          revokedAt: Type.Union([Type.String(), Type.Null()]),
          issuedBy: Type.Union([Type.String(), Type.Null()], {
            description: 'the admin who issued it; (bootstrap), (command line)',
          }),
        }),
      ),
    },
    { description: "The user's tokens" },
  ),
  {
    items: [
      {
        tokenId: 'tok_Qm3Zr8XvT1pK',
        label: 'platform push client',
        createdAt: '2026-11-20T08:30:00.000Z',
        revokedAt: null,
        issuedBy: 'admin',
      },
    ],
  },
);
