-- Addresses are now stored with their domain in its IDNA ASCII form, lower-case
-- (u@bücher.de is u@xn--bcher-kva.de: one mailbox, one account). Rows written before keep
-- a Unicode domain, which a sign-in with either form, now looked up in the ASCII form,
-- would no longer find: rewrite them, and the login history the known-network check reads.
--
-- The encoder is RFC 3492 (punycode) over lower(label) of an NFKC-normalised address (the
-- service stored every address NFKC), which is what node:url domainToASCII gives for the
-- addresses the service accepted. A row whose ASCII form another account already holds
-- (two accounts for one mailbox, registered before this rule) is left as it is and named in
-- a NOTICE: merging accounts is an operator's decision.

CREATE FUNCTION migration_019_punycode_label(label text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  base CONSTANT int := 36;
  tmin CONSTANT int := 1;
  tmax CONSTANT int := 26;
  skew CONSTANT int := 38;
  damp CONSTANT int := 700;
  code_points int[];
  total int;
  output text := '';
  n int := 128;
  delta bigint := 0;
  bias int := 72;
  handled int;
  basic int;
  smallest int;
  cp int;
  q bigint;
  k int;
  t int;
  digit int;
BEGIN
  IF label !~ '[^\x01-\x7f]' THEN
    RETURN label;
  END IF;
  code_points := ARRAY(SELECT ascii(c) FROM regexp_split_to_table(label, '') AS c);
  total := cardinality(code_points);
  FOREACH cp IN ARRAY code_points LOOP
    IF cp < 128 THEN
      output := output || chr(cp);
    END IF;
  END LOOP;
  basic := length(output);
  handled := basic;
  IF basic > 0 THEN
    output := output || '-';
  END IF;
  WHILE handled < total LOOP
    SELECT min(x) INTO smallest FROM unnest(code_points) AS x WHERE x >= n;
    delta := delta + (smallest - n)::bigint * (handled + 1);
    n := smallest;
    FOREACH cp IN ARRAY code_points LOOP
      IF cp < n THEN
        delta := delta + 1;
      END IF;
      IF cp = n THEN
        q := delta;
        k := base;
        LOOP
          t := CASE WHEN k <= bias THEN tmin WHEN k >= bias + tmax THEN tmax ELSE k - bias END;
          EXIT WHEN q < t;
          digit := t + ((q - t) % (base - t))::int;
          output := output || chr(CASE WHEN digit < 26 THEN 97 + digit ELSE 22 + digit END);
          q := (q - t) / (base - t);
          k := k + base;
        END LOOP;
        digit := q::int;
        output := output || chr(CASE WHEN digit < 26 THEN 97 + digit ELSE 22 + digit END);
        -- Bias adaptation (RFC 3492, 6.1).
        delta := CASE WHEN handled = basic THEN delta / damp ELSE delta / 2 END;
        delta := delta + delta / (handled + 1);
        k := 0;
        WHILE delta > ((base - tmin) * tmax) / 2 LOOP
          delta := delta / (base - tmin);
          k := k + base;
        END LOOP;
        bias := k + ((base - tmin + 1) * delta / (delta + skew))::int;
        delta := 0;
        handled := handled + 1;
      END IF;
    END LOOP;
    delta := delta + 1;
    n := n + 1;
  END LOOP;
  RETURN 'xn--' || output;
END
$$;

CREATE FUNCTION migration_019_ascii_email(email text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT left(email, length(email) - strpos(reverse(email), '@') + 1) || (
    SELECT string_agg(migration_019_punycode_label(label), '.' ORDER BY position)
    FROM regexp_split_to_table(lower(split_part(email, '@', -1)), '\.') WITH ORDINALITY AS labels(label, position)
  )
$$;

DO $$
DECLARE
  row record;
  ascii_email text;
BEGIN
  FOR row IN SELECT id, email::text AS email FROM users WHERE split_part(email::text, '@', -1) ~ '[^\x01-\x7f]' ORDER BY id LOOP
    ascii_email := migration_019_ascii_email(row.email);
    IF EXISTS (SELECT 1 FROM users WHERE email = ascii_email::citext AND id <> row.id) THEN
      RAISE NOTICE 'user % keeps its address: another account already holds its IDNA form', row.id;
    ELSE
      UPDATE users SET email = ascii_email WHERE id = row.id;
    END IF;
  END LOOP;
END
$$;

UPDATE login_attempts SET email = migration_019_ascii_email(email::text)
WHERE split_part(email::text, '@', -1) ~ '[^\x01-\x7f]';

DROP FUNCTION migration_019_ascii_email(text);
DROP FUNCTION migration_019_punycode_label(text);
