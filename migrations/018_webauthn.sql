-- WebAuthn credentials (issue 12, items 3 and 4): each is a row of mfa_methods with type
-- webauthn. 016 added credential_id (unique), sign_count, transports and the backup
-- flags; the seed's webauthn_pub holds the COSE public key (base64url). Here: the
-- authenticator model, the user handle the credential was registered under (what a
-- passkey sign-in's userHandle must match), and a check that every webauthn row is whole
-- (NOT VALID: it holds for every row written from now on; a stray seed-era row does not stop
-- the migration).

ALTER TABLE mfa_methods
  -- The authenticator's AAGUID (all zeros for fmt none); shown to no one, kept for support.
  ADD COLUMN aaguid       uuid,
  -- The WebAuthn user.id (base64url) given at registration: the user's id as 16 bytes.
  ADD COLUMN user_handle  text;

ALTER TABLE mfa_methods
  ADD CONSTRAINT mfa_methods_webauthn_whole CHECK (
    type <> 'webauthn' OR (credential_id IS NOT NULL AND webauthn_pub IS NOT NULL AND sign_count IS NOT NULL AND user_handle IS NOT NULL)
  ) NOT VALID;

-- A registration's challenge (purpose register) is found by its user: the latest live one.
CREATE INDEX mfa_challenges_user_purpose_idx ON mfa_challenges (user_id, purpose) WHERE user_id IS NOT NULL;
