package pgstore

// schema is the register in PostgreSQL, created by Setup as the role that will own it.
// It mirrors the SQLite ledger's tables (harness/ledger, schema.go): times in integer
// nanoseconds, JSON as text exactly as written (the audit hash covers the detail's bytes;
// jsonb would reorder them). Triggers refuse what the register never does, whoever asks:
// changing or deleting audit rows, validations, sign-offs and texts, deleting patches and
// assets, and an audit row that does not continue the chain.
const schema = `
CREATE TABLE IF NOT EXISTS register_schema (
	version    integer PRIMARY KEY,
	applied_ns bigint  NOT NULL
);

CREATE TABLE patches (
	id                text    PRIMARY KEY,
	supplier          text    NOT NULL CHECK (supplier <> ''),
	product           text    NOT NULL CHECK (product <> ''),
	from_version      text    NOT NULL DEFAULT '',
	to_version        text    NOT NULL DEFAULT '',
	type              text    NOT NULL CHECK (type IN ('security', 'bugfix', 'reliability', 'feature')),
	cves              text    NOT NULL DEFAULT '[]' CHECK (json_typeof(cves::json) = 'array'),
	advisory          text    NOT NULL DEFAULT '',
	file_sha256       text    NOT NULL DEFAULT '',
	signature_checked boolean NOT NULL DEFAULT false,
	signature_note    text    NOT NULL DEFAULT '',
	qualification     text    NOT NULL CHECK (qualification IN ('qualified', 'not_qualified', 'unknown')),
	notes             text    NOT NULL DEFAULT '',
	identified_ns     bigint  NOT NULL,
	created_ns        bigint  NOT NULL,
	state             text    NOT NULL CHECK (state IN ('identified', 'assessed_not_applicable',
		'assessed_applicable', 'in_test', 'go', 'no_go', 'deferred', 'scheduled', 'deployed',
		'verified', 'closed', 'superseded', 'rolled_back')),
	state_ns          bigint  NOT NULL,
	evaluated_ns      bigint,
	mitigation_plan   text    NOT NULL DEFAULT '',
	review_ns         bigint,
	window_start_ns   bigint,
	window_end_ns     bigint,
	superseded_by     text    REFERENCES patches (id)
);
CREATE INDEX patches_state ON patches (state);

CREATE TABLE assets (
	id         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text    NOT NULL UNIQUE CHECK (name <> ''),
	target     text    NOT NULL,
	role       text    NOT NULL CHECK (role IN ('bench', 'production')),
	baseline   text    NOT NULL DEFAULT '{}' CHECK (json_typeof(baseline::json) = 'object'),
	created_ns bigint  NOT NULL
);

CREATE TABLE texts (
	sha256 text  PRIMARY KEY CHECK (length(sha256) = 64),
	data   bytea NOT NULL
);

CREATE TABLE validations (
	id             text   PRIMARY KEY,
	patch_id       text   NOT NULL REFERENCES patches (id),
	scenario       text   NOT NULL,
	before_runs    text   NOT NULL CHECK (json_typeof(before_runs::json) = 'array'),
	after_runs     text   NOT NULL CHECK (json_typeof(after_runs::json) = 'array'),
	record         text   NOT NULL CHECK (json_typeof(record::json) = 'object'),
	record_sha256  text   NOT NULL,
	verdict        text   NOT NULL CHECK (verdict IN ('GO', 'NO-GO', 'INCONCLUSIVE')),
	bundle         text   NOT NULL DEFAULT '',
	bundle_sha256  text   NOT NULL DEFAULT '',
	differences    text   NOT NULL DEFAULT '[]' CHECK (json_typeof(differences::json) = 'array'),
	created_ns     bigint NOT NULL,
	scenario_file  text   NOT NULL DEFAULT '',
	scenario_text  text   REFERENCES texts (sha256),
	point_map_file text   NOT NULL DEFAULT '',
	point_map_text text   REFERENCES texts (sha256)
);
CREATE INDEX validations_patch ON validations (patch_id, created_ns);

CREATE TABLE signoffs (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	validation_id text   NOT NULL REFERENCES validations (id),
	name          text   NOT NULL CHECK (name <> ''),
	role          text   NOT NULL CHECK (role IN ('tester', 'oem_witness', 'approver')),
	decision      text   NOT NULL CHECK (decision IN ('approve', 'reject', 'accept_risk')),
	rationale     text   NOT NULL DEFAULT '',
	time_ns       bigint NOT NULL,
	CHECK (decision = 'approve' OR rationale <> ''),
	UNIQUE (validation_id, name, role)
);

-- id_counters holds the last number given under each prefix and year (P-2026-, V-2026-):
-- the row is updated inside the write transaction that uses the number.
CREATE TABLE id_counters (
	prefix text    PRIMARY KEY,
	last   integer NOT NULL
);

CREATE TABLE audit (
	seq       bigint PRIMARY KEY,
	time_ns   bigint NOT NULL,
	actor     text   NOT NULL,
	action    text   NOT NULL,
	subject   text   NOT NULL,
	detail    text   NOT NULL CHECK (detail::json IS NOT NULL),
	prev_hash text   NOT NULL CHECK (length(prev_hash) = 64),
	hash      text   NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_subject ON audit (subject, seq);

CREATE FUNCTION register_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION register_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	last_seq  bigint;
	last_hash text;
BEGIN
	SELECT seq, hash INTO last_seq, last_hash FROM audit ORDER BY seq DESC LIMIT 1;
	IF NEW.seq IS DISTINCT FROM coalesce(last_seq, 0) + 1
		OR NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, repeat('0', 64)) THEN
		RAISE EXCEPTION 'an audit row must continue the chain: next seq, prev_hash of the last row';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW
	EXECUTE FUNCTION register_refuse('the audit trail is append-only: its rows cannot be changed');
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW
	EXECUTE FUNCTION register_refuse('the audit trail is append-only: its rows cannot be deleted');
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT
	EXECUTE FUNCTION register_refuse('the audit trail is append-only: it cannot be truncated');
CREATE TRIGGER audit_chain BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION register_audit_chain();
CREATE TRIGGER patches_no_delete BEFORE DELETE ON patches FOR EACH ROW
	EXECUTE FUNCTION register_refuse('patches are never deleted from the register');
CREATE TRIGGER assets_no_delete BEFORE DELETE ON assets FOR EACH ROW
	EXECUTE FUNCTION register_refuse('assets are never deleted from the register');
CREATE TRIGGER validations_no_change BEFORE UPDATE OR DELETE ON validations FOR EACH ROW
	EXECUTE FUNCTION register_refuse('a recorded validation cannot be changed or deleted');
CREATE TRIGGER signoffs_no_change BEFORE UPDATE OR DELETE ON signoffs FOR EACH ROW
	EXECUTE FUNCTION register_refuse('a sign-off cannot be changed or deleted');
CREATE TRIGGER texts_no_change BEFORE UPDATE OR DELETE ON texts FOR EACH ROW
	EXECUTE FUNCTION register_refuse('a stored text cannot be changed or deleted');

-- pushed maps the audit rows copied from a bench's own register (register push) to the
-- rows they became here: source is the hash of the bench's audit row 1, which names its
-- chain. A row already in it is never copied again.
CREATE TABLE pushed (
	source     text   NOT NULL CHECK (length(source) = 64),
	source_seq bigint NOT NULL,
	seq        bigint NOT NULL REFERENCES audit (seq),
	PRIMARY KEY (source, source_seq)
);
CREATE TRIGGER pushed_no_change BEFORE UPDATE OR DELETE ON pushed FOR EACH ROW
	EXECUTE FUNCTION register_refuse('the push map cannot be changed or deleted');

-- pushed_ids maps a bench's patch and validation ids that were taken here by another patch
-- or validation to the ids they were given instead (register push renumbers them), so that
-- pushing again finds them.
CREATE TABLE pushed_ids (
	source    text NOT NULL CHECK (length(source) = 64),
	kind      text NOT NULL CHECK (kind IN ('patch', 'validation')),
	local_id  text NOT NULL,
	shared_id text NOT NULL UNIQUE,
	PRIMARY KEY (source, kind, local_id)
);
CREATE TRIGGER pushed_ids_no_change BEFORE UPDATE OR DELETE ON pushed_ids FOR EACH ROW
	EXECUTE FUNCTION register_refuse('the push map cannot be changed or deleted');

INSERT INTO register_schema (version, applied_ns) VALUES (1, 0);
`

// grants gives the application's role what the register needs and no more: it reads
// everything, adds rows, changes a patch's state fields and the id counters; it never
// deletes, and on the audit trail it has SELECT and INSERT only.
const grants = `
GRANT USAGE ON SCHEMA %[2]s TO %[1]s;
GRANT SELECT ON register_schema TO %[1]s;
GRANT SELECT, INSERT ON patches, assets, texts, validations, signoffs, audit, pushed, pushed_ids TO %[1]s;
GRANT UPDATE (state, state_ns, evaluated_ns, mitigation_plan, review_ns, window_start_ns,
	window_end_ns, superseded_by) ON patches TO %[1]s;
GRANT SELECT, INSERT, UPDATE ON id_counters TO %[1]s;
`
