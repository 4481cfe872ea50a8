/**
 * MITRE ATT&CK for a QID, from its threat-intelligence tags and category, using our mapping in
 * resources/mitre/attack-mapping.json (our judgement, not a Qualys publication; see the README).
 * Results are the parallel arrays the records carry: MITRE_TACTIC_ID/NAME, MITRE_TECHNIQUE_ID/NAME.
 */
import mapping from '../../resources/mitre/attack-mapping.json';

export interface AttackMapping {
  MITRE_TACTIC_ID: string[];
  MITRE_TACTIC_NAME: string[];
  MITRE_TECHNIQUE_ID: string[];
  MITRE_TECHNIQUE_NAME: string[];
}

const tactics: Record<string, string> = mapping.tactics;
const techniques: Record<string, { name: string; tactic: string }> = mapping.techniques;
const byThreatIntel: Record<string, string[]> = mapping.threatIntel;
const byCategory: Record<string, string[]> = mapping.categories;

/** Techniques (and their tactics) in the order first seen: threat intel, then category. */
export function attackMappingOf(
  threatIntel: string[],
  category: string | undefined,
): AttackMapping {
  const techniqueIds = new Set<string>();
  for (const tag of threatIntel) byThreatIntel[tag]?.forEach((id) => techniqueIds.add(id));
  if (category) byCategory[category]?.forEach((id) => techniqueIds.add(id));
  const result: AttackMapping = {
    MITRE_TACTIC_ID: [],
    MITRE_TACTIC_NAME: [],
    MITRE_TECHNIQUE_ID: [],
    MITRE_TECHNIQUE_NAME: [],
  };
  for (const id of techniqueIds) {
    const technique = techniques[id];
    result.MITRE_TECHNIQUE_ID.push(id);
    result.MITRE_TECHNIQUE_NAME.push(technique.name);
    if (!result.MITRE_TACTIC_ID.includes(technique.tactic)) {
      result.MITRE_TACTIC_ID.push(technique.tactic);
      result.MITRE_TACTIC_NAME.push(tactics[technique.tactic]);
    }
  }
  return result;
}
