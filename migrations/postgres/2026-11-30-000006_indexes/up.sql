-- Indexes for the list filters and orderings and for the foreign keys not covered yet.
CREATE INDEX projects_lead_land_title ON projects (lead_land_code, title, id);
CREATE INDEX projects_phase_title ON projects (phase, title, id);
CREATE INDEX projects_title ON projects (title, id);
CREATE INDEX project_fundings_project ON project_fundings (project_id);
CREATE INDEX project_fundings_funder ON project_fundings (funder_id);
CREATE INDEX event_projects_project ON event_projects (project_id);
CREATE INDEX platforms_operator ON platforms (operator_id);
CREATE INDEX organisations_kind_name ON organisations (kind, name);
CREATE INDEX change_log_entity ON change_log (entity_type, entity_id);
