import { Type } from 'typebox';
import { ROLES } from '#domain/roles.js';
import { ClientId } from './common.js';

export const RoleSchema = Type.Enum([...ROLES]);

export const UserSchema = Type.Object({
  userId: Type.String(),
  name: Type.String(),
  roles: Type.Array(RoleSchema),
  stationId: Type.Union([Type.String(), Type.Null()]),
});

export const NewUserSchema = Type.Object(
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
);

export const NewTokenSchema = Type.Object(
  { label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);

export const IssuedTokenSchema = Type.Object({
  tokenId: Type.String(),
  token: Type.String({ description: 'shown only in this answer; stored hashed' }),
});

export const UserIdParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 64 }) });
export const TokenParams = Type.Object({
  userId: Type.String({ minLength: 1, maxLength: 64 }),
  tokenId: Type.String({ minLength: 1, maxLength: 64 }),
});

export const EnrollmentSchema = Type.Object({
  url: Type.String({ description: 'one-time link to set the password; shown only in this answer' }),
  expiresAt: Type.String(),
});

export const StaffSchema = Type.Object({
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
});

export const UserChangeSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    roles: Type.Optional(Type.Array(RoleSchema, { minItems: 1, maxItems: ROLES.length, uniqueItems: true })),
    stationId: Type.Optional(Type.Union([ClientId, Type.Null()])),
    disabled: Type.Optional(
      Type.Boolean({ description: 'true: every session ends at once and tokens and password stop working' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const NewEnrollmentSchema = Type.Object(
  {
    resetPassword: Type.Optional(
      Type.Boolean({ description: 'the old password stops working and every session ends at once' }),
    ),
  },
  { additionalProperties: false },
);

export const TokenListSchema = Type.Object({
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
});
