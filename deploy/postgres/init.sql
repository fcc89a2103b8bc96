-- The ledger's database and role, beside Temporal's own databases.
CREATE ROLE xhspay LOGIN PASSWORD 'xhspay';
CREATE DATABASE xhspay OWNER xhspay;
