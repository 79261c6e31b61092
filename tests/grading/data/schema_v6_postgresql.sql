-- omr-grader results store, schema version 6, postgresql (frozen: what that version's create_all made; the migration tests build a store of that version from it)

CREATE TABLE audit (
	id SERIAL NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	who TEXT NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	target TEXT NOT NULL, 
	before JSONB, 
	after JSONB, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_audit_action_who ON audit (action, who, at);

CREATE TABLE judges (
	id SERIAL NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	unit TEXT NOT NULL, 
	role VARCHAR(8) NOT NULL, 
	password_hash TEXT NOT NULL, 
	must_change BOOLEAN NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE keysets (
	digest VARCHAR(64) NOT NULL, 
	contest TEXT NOT NULL, 
	layout TEXT NOT NULL, 
	data JSONB NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (digest)
);

CREATE TABLE participants (
	participant VARCHAR(64) NOT NULL, 
	name TEXT NOT NULL, 
	unit TEXT, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (participant)
);

CREATE TABLE runs (
	id SERIAL NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	args JSONB, 
	counts JSONB, 
	PRIMARY KEY (id)
);

CREATE TABLE schema_version (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE submissions (
	id SERIAL NOT NULL, 
	source TEXT NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	size BIGINT NOT NULL, 
	n_pages INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	first_seen TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_run INTEGER, 
	unit TEXT, 
	source_raw BYTEA, 
	PRIMARY KEY (id), 
	UNIQUE (content_hash), 
	FOREIGN KEY(last_run) REFERENCES runs (id)
);

CREATE TABLE web_sessions (
	token_hash VARCHAR(64) NOT NULL, 
	judge_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (token_hash), 
	FOREIGN KEY(judge_id) REFERENCES judges (id) ON DELETE CASCADE
);

CREATE INDEX ix_web_sessions_judge ON web_sessions (judge_id);

CREATE TABLE essay_tasks (
	id SERIAL NOT NULL, 
	task_key TEXT NOT NULL, 
	question TEXT NOT NULL, 
	participant VARCHAR(64), 
	submission_id INTEGER, 
	anon_code VARCHAR(16) NOT NULL, 
	unit TEXT, 
	unit_key TEXT, 
	state VARCHAR(16) NOT NULL, 
	rounds INTEGER NOT NULL, 
	final_score TEXT, 
	final_rule VARCHAR(16), 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	decided_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_essay_tasks_rounds CHECK (rounds IN (2, 3)), 
	UNIQUE (task_key), 
	FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE SET NULL, 
	UNIQUE (anon_code)
);

CREATE INDEX ix_essay_tasks_participant ON essay_tasks (participant);

CREATE INDEX ix_essay_tasks_state ON essay_tasks (state, id);

CREATE TABLE pages (
	id SERIAL NOT NULL, 
	submission_id INTEGER NOT NULL, 
	page_no INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	reason_code VARCHAR(32), 
	reason TEXT, 
	layout TEXT, 
	participant VARCHAR(64), 
	version VARCHAR(16), 
	reading JSONB NOT NULL, 
	read_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_pages_submission_page UNIQUE (submission_id, page_no), 
	FOREIGN KEY(submission_id) REFERENCES submissions (id) ON DELETE CASCADE
);

CREATE INDEX ix_pages_participant ON pages (participant);

CREATE INDEX ix_pages_progress ON pages (submission_id, status, participant, page_no);

CREATE TABLE essay_assignments (
	id SERIAL NOT NULL, 
	task_id INTEGER NOT NULL, 
	round INTEGER NOT NULL, 
	judge_id INTEGER NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	assigned_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	assigned_by TEXT NOT NULL, 
	points JSONB, 
	total TEXT, 
	scored_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_essay_assignments_round UNIQUE (task_id, round), 
	CONSTRAINT uq_essay_assignments_judge UNIQUE (task_id, judge_id), 
	CONSTRAINT ck_essay_assignments_round CHECK (round BETWEEN 1 AND 3), 
	FOREIGN KEY(task_id) REFERENCES essay_tasks (id) ON DELETE CASCADE, 
	FOREIGN KEY(judge_id) REFERENCES judges (id)
);

CREATE INDEX ix_essay_assignments_judge ON essay_assignments (judge_id, state);

CREATE TABLE essays (
	id SERIAL NOT NULL, 
	page_id INTEGER NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	region_id TEXT, 
	owner_page_id INTEGER, 
	participant VARCHAR(64), 
	anon_code VARCHAR(16) NOT NULL, 
	ocr_state VARCHAR(8) NOT NULL, 
	text TEXT, 
	text_plain TEXT, 
	mean_conf FLOAT, 
	reliable BOOLEAN, 
	engine TEXT, 
	source VARCHAR(16), 
	warnings JSONB, 
	seconds FLOAT, 
	ocr_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	task_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_essays_page_region UNIQUE (page_id, region_id), 
	FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE CASCADE, 
	FOREIGN KEY(owner_page_id) REFERENCES pages (id) ON DELETE SET NULL, 
	UNIQUE (anon_code)
);

CREATE INDEX ix_essays_owner ON essays (owner_page_id);

CREATE INDEX ix_essays_participant ON essays (participant);

CREATE INDEX ix_essays_state ON essays (ocr_state);

CREATE INDEX ix_essays_task ON essays (task_id);

CREATE UNIQUE INDEX ux_essays_whole_page ON essays (page_id) WHERE kind = 'page';

CREATE TABLE flags (
	id SERIAL NOT NULL, 
	page_id INTEGER NOT NULL, 
	target VARCHAR(16) NOT NULL, 
	key VARCHAR(32), 
	reason VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	confidence FLOAT NOT NULL, 
	fills JSONB, 
	origin VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	resolution JSONB, 
	resolved_by TEXT, 
	resolved_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE CASCADE
);

CREATE INDEX ix_flags_page_state ON flags (page_id, state);

CREATE INDEX ix_flags_state_id ON flags (state, id);

CREATE TABLE scores (
	id SERIAL NOT NULL, 
	page_id INTEGER NOT NULL, 
	participant VARCHAR(64), 
	version VARCHAR(16), 
	status VARCHAR(16) NOT NULL, 
	total TEXT NOT NULL, 
	total_float FLOAT NOT NULL, 
	max_total TEXT NOT NULL, 
	max_float FLOAT NOT NULL, 
	questions JSONB NOT NULL, 
	sections JSONB NOT NULL, 
	needs_review JSONB NOT NULL, 
	key_digest VARCHAR(64) NOT NULL, 
	computed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (page_id), 
	FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE CASCADE, 
	FOREIGN KEY(key_digest) REFERENCES keysets (digest)
);

CREATE INDEX ix_scores_page_status ON scores (page_id, status);

CREATE TABLE duplicate_pairs (
	id SERIAL NOT NULL, 
	essay_a INTEGER NOT NULL, 
	essay_b INTEGER NOT NULL, 
	similarity FLOAT NOT NULL, 
	containment FLOAT NOT NULL, 
	passages JSONB NOT NULL, 
	found_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_duplicate_pairs UNIQUE (essay_a, essay_b), 
	CONSTRAINT ck_duplicate_pairs_order CHECK (essay_a < essay_b), 
	FOREIGN KEY(essay_a) REFERENCES essays (id) ON DELETE CASCADE, 
	FOREIGN KEY(essay_b) REFERENCES essays (id) ON DELETE CASCADE
);

CREATE TABLE resolutions (
	id SERIAL NOT NULL, 
	page_id INTEGER NOT NULL, 
	flag_id INTEGER, 
	target VARCHAR(16) NOT NULL, 
	key VARCHAR(32), 
	value TEXT NOT NULL, 
	who TEXT NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(page_id) REFERENCES pages (id) ON DELETE CASCADE, 
	FOREIGN KEY(flag_id) REFERENCES flags (id)
);

CREATE INDEX ix_resolutions_page ON resolutions (page_id);

ALTER TABLE essays ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('simple'::regconfig, coalesce(text, '')), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce(text_plain, '')), 'B')) STORED;

CREATE INDEX IF NOT EXISTS ix_essays_tsv ON essays USING GIN (tsv);
