//! What the hub's unit tests share: running each rule on both engines the hub supports.

/// Makes each named rule (a `fn(&Db)` of the calling module) a test on a SQLite file, and runs
/// all of them in one test on one PostgreSQL server of the test's own, a fresh database each.
macro_rules! on_both_engines {
    ($($rule:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $rule() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("hub.sqlite3");
                    super::$rule(&$crate::db::Db::new($crate::db::Location::Sqlite(path)));
                }
            )*
        }

        #[test]
        fn every_rule_on_postgres() {
            let server = tix_tests::Postgres::start();
            $(
                let url = server.fresh_database();
                $rule(&$crate::db::Db::new($crate::db::Location::Postgres(url)));
            )*
        }
    };
}

pub(crate) use on_both_engines;
