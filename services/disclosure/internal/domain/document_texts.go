package domain

import "maps"

// DocumentTextKeys returns the keys of the readable report's headings and labels,
// which each language must have besides TextKeys.
func DocumentTextKeys() []string {
	return []string{
		"doc.generated", "doc.request", "doc.none", "doc.yes", "doc.no",
		"section.owner", "section.patients", "section.former_patients", "section.changes", "section.consent_history",
		"section.information",
		"label.name", "label.address", "label.phone", "label.email", "label.language", "label.customer_number",
		"label.species", "label.breed", "label.sex", "label.birth_date", "label.date", "label.clinic",
		"label.reason", "label.anamnesis", "label.findings", "label.diagnoses", "label.procedures", "label.weight", "label.follow_up",
		"label.amendments", "label.original", "label.staff", "label.subject", "label.channel", "label.purpose",
		"label.decision", "label.allowed", "label.recipient", "label.outcome", "label.who", "label.action",
		"label.fields", "label.service", "label.data", "label.basis", "label.resource",
		"section.access_requests", "section.erasure_requests", "doc.this_request", "doc.erased", "doc.kept",
		"label.received", "label.identification", "label.identified_by", "label.due_date", "label.extended_due_date",
		"label.extension_reason", "label.possibly_chargeable", "label.status", "label.answered", "label.recorded_by",
		"label.finished", "label.disposition", "label.retention", "doc.kept_until", "doc.kept_indefinitely", "doc.retention_ended", "label.count",
		"resource.other", "resource.owners", "resource.patient", "resource.visit", "resource.disclosure",
		"resource.access_requests", "resource.erasure_request", "resource.erasure_requests",
		"action.other", "actor.system", "actor.unnamed",
	}
}

// documentTexts returns the headings and labels in lang.
func documentTexts(lang Language) map[string]string {
	switch lang {
	case LanguageSwedish:
		return map[string]string{
			"doc.generated": "Rapporten upprättad", "doc.request": "Begäran om tillgång", "doc.none": "Inga uppgifter.",
			"doc.yes": "ja", "doc.no": "nej",
			"section.owner": "Dina uppgifter", "section.patients": "Dina husdjur",
			"section.former_patients": "Husdjur som du har överlåtit till en annan ägare", "section.changes": "Ändringar i uppgifterna",
			"section.consent_history": "Historik över dina beslut", "section.information": "Information om behandlingen",
			"label.name": "Namn", "label.address": "Postadress", "label.phone": "Telefon", "label.email": "E-post",
			"label.language": "Språk", "label.customer_number": "Kundnummer", "label.species": "Art", "label.breed": "Ras",
			"label.sex": "Kön", "label.birth_date": "Födelsedatum", "label.date": "Datum", "label.clinic": "Klinik",
			"label.reason": "Orsak", "label.anamnesis": "Anamnes", "label.findings": "Fynd", "label.diagnoses": "Diagnoser", "label.procedures": "Åtgärder",
			"label.weight": "Vikt (g)", "label.follow_up": "Uppföljning", "label.amendments": "Rättelser",
			"label.original": "Ursprunglig anteckning", "label.staff": "Personal", "label.subject": "Ämne",
			"label.channel": "Kanal", "label.purpose": "Ändamål", "label.decision": "Beslut", "label.allowed": "Tillåtet",
			"label.recipient": "Mottagare", "label.outcome": "Utfall", "label.who": "Vem", "label.action": "Åtgärd",
			"label.fields": "Ändrade uppgifter", "label.service": "Tjänst", "label.data": "Uppgifter", "label.basis": "Grund",
			"label.resource": "Objekt", "section.access_requests": "Dina begäranden om tillgång", "section.erasure_requests": "Dina begäranden om radering",
			"doc.this_request": "denna begäran", "doc.erased": "raderat", "doc.kept": "sparat",
			"label.received": "Inkom", "label.identification": "Identifieringssätt", "label.identified_by": "Identiteten kontrollerad av",
			"label.due_date": "Ska besvaras senast", "label.extended_due_date": "Förlängd tidsfrist",
			"label.extension_reason": "Orsak till förlängningen", "label.possibly_chargeable": "Eventuellt avgiftsbelagd (en ny begäran inom tolv månader)",
			"label.status": "Status", "label.answered": "Besvarad", "label.recorded_by": "Registrerad av", "label.finished": "Slutförd",
			"label.disposition": "Raderat eller sparat", "label.retention": "Lagringstid", "doc.kept_until": "till och med {day}",
			"doc.kept_indefinitely": "tills vidare", "doc.retention_ended": "lagringen avslutades redan {day}", "label.count": "Antal",
			"resource.other": "Övrig uppgift", "resource.owners": "Kundförteckningen", "resource.patient": "Djurets uppgifter",
			"resource.visit": "Besöksanteckning", "resource.disclosure": "Utlämnande av dina uppgifter",
			"resource.access_requests": "Dina begäranden om tillgång", "resource.erasure_request": "Begäran om radering",
			"resource.erasure_requests": "Dina begäranden om radering",
			"action.other":              "annan åtgärd",
			"actor.system":              systemText(LanguageSwedish),
			"actor.unnamed":             "en användare vars namn inte har registrerats",
		}
	case LanguageEnglish:
		return map[string]string{
			"doc.generated": "Report generated", "doc.request": "Access request", "doc.none": "Nothing on record.",
			"doc.yes": "yes", "doc.no": "no",
			"section.owner": "Your details", "section.patients": "Your pets",
			"section.former_patients": "Pets you transferred to another owner", "section.changes": "Changes to the data",
			"section.consent_history": "History of your decisions", "section.information": "About the processing",
			"label.name": "Name", "label.address": "Address", "label.phone": "Phone", "label.email": "E-mail",
			"label.language": "Language", "label.customer_number": "Customer number", "label.species": "Species",
			"label.breed": "Breed", "label.sex": "Sex", "label.birth_date": "Date of birth", "label.date": "Date",
			"label.clinic": "Clinic", "label.reason": "Reason", "label.anamnesis": "History (anamnesis)", "label.findings": "Findings", "label.diagnoses": "Diagnoses",
			"label.procedures": "Procedures", "label.weight": "Weight (g)", "label.follow_up": "Follow-up",
			"label.amendments": "Corrections", "label.original": "Original entry", "label.staff": "Staff",
			"label.subject": "Subject", "label.channel": "Channel", "label.purpose": "Purpose", "label.decision": "Decision",
			"label.allowed": "Allowed", "label.recipient": "Recipient", "label.outcome": "Outcome", "label.who": "Who",
			"label.action": "Action", "label.fields": "Fields changed", "label.service": "Service", "label.data": "Data",
			"label.basis": "Legal basis", "label.resource": "Record",
			"section.access_requests": "Your access requests", "section.erasure_requests": "Your erasure requests",
			"doc.this_request": "this request", "doc.erased": "erased", "doc.kept": "kept",
			"label.received": "Received", "label.identification": "Identification", "label.identified_by": "Identified by",
			"label.due_date": "Due by", "label.extended_due_date": "Extended to",
			"label.extension_reason": "Why it was extended", "label.possibly_chargeable": "Possibly chargeable (a further request within twelve months)",
			"label.status": "Status", "label.answered": "Answered", "label.recorded_by": "Recorded by", "label.finished": "Completed",
			"label.disposition": "Erased or kept", "label.retention": "Retention", "doc.kept_until": "until {day}",
			"doc.kept_indefinitely": "indefinitely", "doc.retention_ended": "retention ended earlier, on {day}", "label.count": "Count",
			"resource.other": "Other record", "resource.owners": "The customer list", "resource.patient": "Pet's details",
			"resource.visit": "Visit record", "resource.disclosure": "A disclosure of your data",
			"resource.access_requests": "Your access requests", "resource.erasure_request": "Erasure request",
			"resource.erasure_requests": "Your erasure requests",
			"action.other":              "other action",
			"actor.system":              systemText(LanguageEnglish),
			"actor.unnamed":             "a user whose name was not recorded",
		}
	default:
		return map[string]string{
			"doc.generated": "Raportti laadittu", "doc.request": "Tarkastuspyyntö", "doc.none": "Ei merkintöjä.",
			"doc.yes": "kyllä", "doc.no": "ei",
			"section.owner": "Omat tietosi", "section.patients": "Lemmikkisi",
			"section.former_patients": "Lemmikit, jotka siirsit toiselle omistajalle", "section.changes": "Tietoihin tehdyt muutokset",
			"section.consent_history": "Päätöstesi historia", "section.information": "Tietoa käsittelystä",
			"label.name": "Nimi", "label.address": "Osoite", "label.phone": "Puhelin", "label.email": "Sähköposti",
			"label.language": "Kieli", "label.customer_number": "Asiakasnumero", "label.species": "Laji", "label.breed": "Rotu",
			"label.sex": "Sukupuoli", "label.birth_date": "Syntymäaika", "label.date": "Päivämäärä", "label.clinic": "Klinikka",
			"label.reason": "Käynnin syy", "label.anamnesis": "Esitiedot", "label.findings": "Löydökset", "label.diagnoses": "Diagnoosit",
			"label.procedures": "Toimenpiteet", "label.weight": "Paino (g)", "label.follow_up": "Jatkohoito",
			"label.amendments": "Korjaukset", "label.original": "Alkuperäinen merkintä", "label.staff": "Henkilökunta",
			"label.subject": "Aihe", "label.channel": "Kanava", "label.purpose": "Käyttötarkoitus", "label.decision": "Päätös",
			"label.allowed": "Sallittu", "label.recipient": "Vastaanottaja", "label.outcome": "Tulos", "label.who": "Kuka",
			"label.action": "Toiminto", "label.fields": "Muutetut tiedot", "label.service": "Palvelu", "label.data": "Tiedot",
			"label.basis": "Peruste", "label.resource": "Kohde",
			"section.access_requests": "Tarkastuspyyntösi", "section.erasure_requests": "Poistopyyntösi",
			"doc.this_request": "tämä pyyntö", "doc.erased": "poistettu", "doc.kept": "säilytetty",
			"label.received": "Saapui", "label.identification": "Tunnistustapa", "label.identified_by": "Henkilöllisyyden tarkastaja",
			"label.due_date": "Vastattava viimeistään", "label.extended_due_date": "Pidennetty määräaika",
			"label.extension_reason": "Määräajan pidentämisen syy", "label.possibly_chargeable": "Mahdollisesti maksullinen (uusi pyyntö kahdentoista kuukauden sisällä)",
			"label.status": "Tila", "label.answered": "Vastattu", "label.recorded_by": "Kirjaaja", "label.finished": "Valmistui",
			"label.disposition": "Poistettu vai säilytetty", "label.retention": "Säilytysaika", "doc.kept_until": "{day} asti",
			"doc.kept_indefinitely": "toistaiseksi", "doc.retention_ended": "säilytys päättyi jo {day}", "label.count": "Lukumäärä",
			"resource.other": "Muu tieto", "resource.owners": "Asiakasluettelo", "resource.patient": "Lemmikin tiedot",
			"resource.visit": "Käyntimerkintä", "resource.disclosure": "Tietojesi luovutus",
			"resource.access_requests": "Tarkastuspyyntösi", "resource.erasure_request": "Poistopyyntö",
			"resource.erasure_requests": "Poistopyyntösi",
			"action.other":              "muu toiminto",
			"actor.system":              systemText(LanguageFinnish),
			"actor.unnamed":             "käyttäjä, jonka nimeä ei ole kirjattu",
		}
	}
}

// systemText is the report's word for the services' own work in lang, which no
// person's name may read as (PersonText).
func systemText(lang Language) string {
	switch lang {
	case LanguageSwedish:
		return "systemet"
	case LanguageEnglish:
		return "system"
	default:
		return "järjestelmä"
	}
}

// DocumentTexts returns every text of the readable report in lang: Texts, the
// headings and labels, and the names of recorded values (ValueTextKey).
func DocumentTexts(lang Language) map[string]string {
	t := Texts(lang)
	maps.Copy(t, documentTexts(lang))
	maps.Copy(t, valueTexts(lang))
	return t
}
