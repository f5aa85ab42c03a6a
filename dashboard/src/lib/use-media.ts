import { useEffect, useState } from "react";

/** Width at and below which the task list shows cards and folds its filters (a phone held upright). */
export const PHONE_QUERY = "(max-width: 600px)";

/** Whether a CSS media query matches, following changes (rotation, a resized window). */
export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => typeof window !== "undefined" && window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const onChange = () => setMatches(list.matches);
    onChange();
    list.addEventListener("change", onChange);
    return () => list.removeEventListener("change", onChange);
  }, [query]);
  return matches;
}
