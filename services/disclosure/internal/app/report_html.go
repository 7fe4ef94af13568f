package app

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/lillvet/register/services/disclosure/internal/domain"
)

//go:embed templates/report.html
var templateFiles embed.FS

// parseReportTemplate parses the readable report's template once, for New; its
// functions are placeholders that renderReport replaces per report (the texts and the
// patients differ).
func parseReportTemplate() (*template.Template, error) {
	t, err := template.New("report.html").Funcs(reportFuncs(nil, nil, reportNames{})).ParseFS(templateFiles, "templates/report.html")
	if err != nil {
		return nil, fmt.Errorf("parse the report template: %w", err)
	}
	return t, nil
}

// renderReport writes the readable report: one HTML document with its own print
// stylesheet and no external assets, in the language of texts (domain.DocumentTexts),
// times on the clinic's calendar (loc). html/template escapes every value.
func renderReport(tmpl *template.Template, rep Report, texts map[string]string, loc *time.Location) ([]byte, error) {
	t, err := tmpl.Clone()
	if err != nil {
		return nil, fmt.Errorf("the report template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Funcs(reportFuncs(texts, loc, namesIn(rep))).Execute(&b, rep); err != nil {
		return nil, fmt.Errorf("render the report: %w", err)
	}
	return b.Bytes(), nil
}

// reportNames are the names the report gives what its records name by id: patients
// and recipients by id, and staff by subject as the access log's events name them.
type reportNames struct {
	patients, recipients map[string]string
	staff                map[string]AccessEvent
}

// namesIn are the names rep holds: its patients', the recipients of its disclosure log
// and of its consents (ConsentState.ScopeName), and its staff's.
func namesIn(rep Report) reportNames {
	n := reportNames{patients: map[string]string{}, recipients: map[string]string{}, staff: map[string]AccessEvent{}}
	for _, p := range rep.Patients {
		n.patients[p.ID] = p.Name
	}
	for _, d := range rep.Disclosures {
		if d.Recipient.ID != "" && d.Recipient.Name != "" {
			n.recipients[d.Recipient.ID] = d.Recipient.Name
		}
	}
	for _, c := range rep.Consents.Current {
		if c.ScopeName != "" {
			n.recipients[c.Scope] = c.ScopeName
		}
	}
	for _, d := range rep.Consents.Decisions {
		if d.ScopeName != "" {
			n.recipients[d.Scope] = d.ScopeName
		}
	}
	for _, e := range rep.AccessLog {
		if !e.ActorSystem && e.ActorSubject != "" {
			n.staff[e.ActorSubject] = e
		}
	}
	return n
}

// reportFuncs are the template's functions: texts by key, times on the clinic's
// calendar, names of kinds, categories and recorded values, and what the report's
// records name by id or subject, by the names the report holds.
func reportFuncs(texts map[string]string, loc *time.Location, names reportNames) template.FuncMap {
	patients, recipients, staff := names.patients, names.recipients, names.staff
	return template.FuncMap{
		"t": func(key string) string { return texts[key] },
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2006-01-02 15:04")
		},
		"join": func(s []string) string { return strings.Join(s, ", ") },
		"yesno": func(b bool) string {
			if b {
				return texts["doc.yes"]
			}
			return texts["doc.no"]
		},
		"kind": func(k string) string { return texts[domain.KindTextKey(domain.Kind(k))] },
		"categories": func(cs []string) string {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = texts[domain.CategoryTextKey(domain.Category(c))]
			}
			return strings.Join(names, ", ")
		},
		// A recorded value in words (domain.ValueTextKey); a value newer than the
		// texts shows as recorded rather than not at all.
		"v": func(field, value string) string { return valueName(texts, field, value) },
		// Who acted: a person with their roles, the services' own work as the system.
		"actor": func(system bool, subject, name string, roles []string) string {
			return domain.ActorText(texts, system, subject, name, roles)
		},
		// Who recorded a consent decision: by name, which the token may lack.
		"person": func(name string) string { return domain.PersonText(texts, name, nil) },
		// Who corrected a visit or recorded a communication.
		"staff": func(s StaffMember) string { return staffText(texts, s) },
		// Who recorded or identified a request, which records only their subject: by
		// the name and roles their last event in the access log gave, as the log's
		// actors are; else as a user whose name was not recorded, never by subject.
		"staffof": func(subject string) string {
			e := staff[subject]
			return domain.PersonText(texts, e.ActorName, e.ActorRoles)
		},
		// The legal basis an erasure kept records on, in words; one newer than the
		// texts as recorded rather than not at all.
		"basis": func(key string) string { return cmp.Or(texts[key], key) },
		// How long an erasure kept a class of records: through its last day, or without
		// an end (a marketing objection, which must outlast the erasure).
		"keptuntil": func(day string) string {
			if day == "" {
				return texts["doc.kept_indefinitely"]
			}
			return strings.ReplaceAll(texts["doc.kept_until"], "{day}", day)
		},
		// When the retention of a kept class ended before its day (ReportDisposition.RetentionEndedAt).
		"retentionended": func(t time.Time) string {
			return strings.ReplaceAll(texts["doc.retention_ended"], "{day}", t.In(loc).Format(time.DateOnly))
		},
		// A consent's scope: a channel, or the recipient an insurer or microchip
		// registry consent is for, by name.
		"scope": func(scope string) string { return domain.ScopeText(texts, scope, recipients) },
		// An event's action and purpose in words, as its resource; the JSON copy
		// carries them as recorded.
		"action":   func(a string) string { return domain.ActionText(texts, a) },
		"purpose":  func(p string) string { return domain.PurposeText(texts, p) },
		"resource": func(r string) string { return domain.ResourceText(texts, r, patients, recipients) },
		// A change's reason in words when the service wrote it, as staff typed it else.
		"reason": func(r string) string { return domain.ChangeReasonText(texts, r) },
		// A visit of an animal the owner no longer has names it by id.
		"patient": func(id string) string { return cmp.Or(patients[id], id) },
	}
}

// valueName is the recorded value's name in the report's language, or the value itself
// when the texts have no name for it.
func valueName(texts map[string]string, field, value string) string {
	if value == "" {
		return ""
	}
	return cmp.Or(texts[domain.ValueTextKey(field, value)], value)
}

// staffText is a member of staff the history service recorded from their token, as
// domain.PersonText: by name with their role in words. That service records the
// token's subject as the name when the token gave none, and the report never shows a
// subject, so such a name is none.
func staffText(texts map[string]string, s StaffMember) string {
	name, roles := s.Name, []string{s.Role}
	if name == s.Subject {
		name = ""
	}
	if s.Role == "" {
		roles = nil
	}
	return domain.PersonText(texts, name, roles)
}
