import { expect } from 'chai';
import { SqlSplitError, splitSqlStatements } from '../shared/db/split-sql-statements.js';

describe('splitSqlStatements', () => {
  it('splits at the semicolons that end statements, dropping comment-only ones', () => {
    const sql = '-- migrate: no-transaction\n-- why; because\nCREATE TABLE a (id int);\n\n/* nothing */;\nSELECT 1;\n-- trailing; note\n';
    expect(splitSqlStatements(sql)).to.deep.equal(['CREATE TABLE a (id int)', 'SELECT 1']);
  });

  it('keeps a statement whole across semicolons in strings, names, bodies and comments', () => {
    const statements = [
      "INSERT INTO t (a, b) VALUES ('x;y', 'it''s; fine')",
      "SELECT E'back\\'slash;', e'\\\\'",
      'CREATE TABLE "odd;name" ("col;umn" int, a$b int)',
      'DO $body$ BEGIN PERFORM 1; RAISE NOTICE $$a;b$$; END $body$',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$',
      'SELECT 1 /* outer ; /* inner ; */ still a comment ; */ + 2',
      'SELECT $1::int',
    ];
    expect(splitSqlStatements(statements.join(';\n') + ';')).to.deep.equal(statements);
  });

  it('keeps a last statement that has no semicolon', () => {
    expect(splitSqlStatements('SELECT 1; SELECT 2 -- done')).to.deep.equal(['SELECT 1', 'SELECT 2 -- done']);
  });

  it('refuses what it cannot split safely', () => {
    for (const sql of ["SELECT 'open", 'SELECT "open', 'DO $x$ BEGIN END $y$', 'SELECT 1 /* /* */', "SELECT E'\\'"]) {
      expect(() => splitSqlStatements(sql), sql).to.throw(SqlSplitError, /unterminated/);
    }
    const atomic = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN /* c */ ATOMIC SELECT 1; END';
    expect(() => splitSqlStatements(atomic)).to.throw(SqlSplitError, /BEGIN ATOMIC/);
  });
});
