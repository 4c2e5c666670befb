import GRDB

/// The catalog's schema, as an append-only list of migrations: a shipped migration is never
/// edited, a change is a new one. Invariants live in the schema (CHECKs, UNIQUE, foreign keys),
/// so a bug elsewhere cannot write a state that makes no sense.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // One row per distinct content (SHA-256), whatever the file was called.
            try db.execute(sql: """
                CREATE TABLE scan (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
                    name TEXT NOT NULL,
                    label INTEGER CHECK (label IN (0, 1)),
                    size INTEGER NOT NULL CHECK (size >= 0),
                    facts TEXT,
                    orientation TEXT,
                    state TEXT NOT NULL CHECK (state IN ('cached', 'rejected')),
                    error TEXT,
                    labelled_at DOUBLE,
                    created_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL
                );
                """)
            // Every file that arrived in the inbox, accounted for exactly once.
            try db.execute(sql: """
                CREATE TABLE file (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    inbox_path TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    hash TEXT NOT NULL,
                    scan_id INTEGER NOT NULL REFERENCES scan(id),
                    label INTEGER CHECK (label IN (0, 1)),
                    outcome TEXT NOT NULL CHECK (outcome IN ('archived', 'rejected')),
                    destination TEXT NOT NULL UNIQUE,
                    -- 0 until the original has been renamed from the inbox to its destination
                    moved INTEGER NOT NULL DEFAULT 0 CHECK (moved IN (0, 1)),
                    duplicate INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    arrived_at DOUBLE NOT NULL
                );
                CREATE INDEX file_scan ON file(scan_id);
                """)
            try db.execute(sql: """
                CREATE TABLE cache_entry (
                    scan_id INTEGER NOT NULL REFERENCES scan(id),
                    parameters_key TEXT NOT NULL,
                    path TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    created_at DOUBLE NOT NULL,
                    PRIMARY KEY (scan_id, parameters_key)
                );
                """)
            // Persistent work: a job 'running' when the process died is retried on start;
            // one that keeps failing is 'parked' with its error.
            try db.execute(sql: """
                CREATE TABLE job (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL CHECK (kind IN ('ingest', 'predict', 'train')),
                    subject TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'parked')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    created_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL
                );
                CREATE UNIQUE INDEX job_open ON job(kind, subject) WHERE state IN ('queued', 'running');
                CREATE INDEX job_state ON job(state, kind, id);
                """)
            try db.execute(sql: """
                CREATE TABLE run (
                    id TEXT PRIMARY KEY,
                    folder TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('running', 'finished', 'stopped early', 'cancelled', 'failed')),
                    reason TEXT NOT NULL,
                    train_count INTEGER NOT NULL,
                    validation_count INTEGER NOT NULL,
                    best_epoch INTEGER,
                    val_loss DOUBLE,
                    val_acc DOUBLE,
                    val_auc DOUBLE,
                    promoted INTEGER NOT NULL DEFAULT 0,
                    promotion_note TEXT,
                    error TEXT,
                    started_at DOUBLE NOT NULL,
                    ended_at DOUBLE
                );
                CREATE TABLE epoch (
                    run_id TEXT NOT NULL REFERENCES run(id),
                    epoch INTEGER NOT NULL,
                    loss DOUBLE NOT NULL, acc DOUBLE NOT NULL,
                    val_loss DOUBLE NOT NULL, val_acc DOUBLE NOT NULL, val_auc DOUBLE,
                    seconds DOUBLE NOT NULL,
                    PRIMARY KEY (run_id, epoch)
                );
                """)
            try db.execute(sql: """
                CREATE TABLE prediction (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    file_id INTEGER NOT NULL UNIQUE REFERENCES file(id),
                    scan_id INTEGER NOT NULL REFERENCES scan(id),
                    run_id TEXT NOT NULL,
                    probability_abnormal DOUBLE NOT NULL CHECK (probability_abnormal BETWEEN 0 AND 1),
                    decision TEXT NOT NULL CHECK (decision IN ('normal', 'abnormal')),
                    report TEXT NOT NULL,
                    created_at DOUBLE NOT NULL
                );
                """)
            // The active model, and the one before it (for rollback): one pointer, kept here.
            try db.execute(sql: """
                CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v2") { db in
            // The same content dropped into both CT-0/ and CT-23/: left out of training until
            // the archived copies agree again.
            try db.execute(sql: """
                ALTER TABLE scan ADD COLUMN label_conflict INTEGER NOT NULL DEFAULT 0 CHECK (label_conflict IN (0, 1));
                """)
        }
        migrator.registerMigration("v3") { db in
            // Per epoch: the best accuracy any threshold reaches, and accuracy and ECE after calibration.
            try db.execute(sql: """
                ALTER TABLE epoch ADD COLUMN val_best_acc REAL;
                ALTER TABLE epoch ADD COLUMN val_acc_calibrated REAL;
                ALTER TABLE epoch ADD COLUMN val_ece_calibrated REAL;
                """)
        }
        migrator.registerMigration("v4") { db in
            // Where a model came from: trained by this daemon, or trained elsewhere and imported
            // (`ctctl import`), with the file the caller named.
            try db.execute(sql: """
                ALTER TABLE run ADD COLUMN origin TEXT NOT NULL DEFAULT 'trained' CHECK (origin IN ('trained', 'imported'));
                ALTER TABLE run ADD COLUMN source TEXT;
                """)
        }
        return migrator
    }
}
